import pino, { type DestinationStream, type Logger } from 'pino';

// Field names that hold credentials wherever they appear. (Not `code`: errors carry a code.)
const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'secret',
  'key',
  'apiKey',
  'privateKey',
  'otp',
  'totp',
  'recoveryCode',
  'authorization',
  'cookie',
];

/** Paths pino blanks out wherever they appear in a log line (L3, invariant 2). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

const SENSITIVE_PARAM = /pass|token|secret|key|code|otp|sig|auth|session|email/i;

// 20+ characters mixing letters and digits (base64url, hex, UUIDs); plain words and file paths survive.
const TOKEN_LIKE = /(?=[\w\-+=]*\d)(?=[\w\-+=]*[A-Za-z])[\w\-+=]{20,}/g;

/** Keeps a URL's path and parameter names; token-like path segments and sensitive values are dropped. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(TOKEN_LIKE, '[redacted]');
  if (q === -1) return path;
  const params = new URLSearchParams(url.slice(q + 1));
  const kept = [...params.keys()].map(
    (k) =>
      `${encodeURIComponent(k)}=${SENSITIVE_PARAM.test(k) ? '[redacted]' : encodeURIComponent(params.get(k) ?? '')}`,
  );
  return `${path}?${kept.join('&')}`;
}

/**
 * Error messages can quote their input (JSON.parse shows the text it choked on, PostgreSQL shows
 * key values). Quoted text, e-mail addresses and token-like strings are removed before logging.
 */
export function scrubMessage(text: string): string {
  return text
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '[redacted]')
    .replace(/\((?:[^()]*)\)=\((?:[^()]*)\)/g, '[redacted]')
    .replace(/[^\s@]+@[^\s@]+\.[^\s@]+/g, '[redacted]')
    .replace(TOKEN_LIKE, '[redacted]');
}

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubMessage(String(err)) };
  return {
    type: err.name,
    code: (err as { code?: unknown }).code,
    message: scrubMessage(err.message),
    stack: err.stack ? scrubMessage(err.stack) : undefined,
  };
}

export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
      },
    },
    stream,
  );
}

import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
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

/** Field names blanked wherever they appear in a log line, at any depth, in any letter case (L3, invariant 2). */
export const REDACTED_KEYS: ReadonlySet<string> = new Set(
  [...SECRET_KEYS, 'x-api-key', 'x-csrf-token', 'set-cookie'].map((k) => k.toLowerCase()),
);
const CENSOR = '[redacted]';
/** Logged through the serializers below, which keep only fields that cannot hold a secret. */
const SERIALIZED = new Set(['req', 'res', 'err', 'error']);
/** Deeper than this a logged value is not walked, and not written either. */
const MAX_DEPTH = 6;

/*
 * An e-mail address anywhere in a logged string (a field, a message, a binding) keeps its domain and
 * loses its local part: "***@example.org". The domain is what a log reader needs (which provider bounces,
 * which tenant a burst comes from); the local part names the person. Not a hash: an unkeyed hash of an
 * address is reversed by hashing a list of guesses, and a keyed one would need a key in the logger.
 */
const EMAIL = /[^\s@<>()[\]"'`,;:/\\]+@((?:[\p{L}\p{N}-]+\.)+[\p{L}\p{N}-]+)/gu;

/** `text` with the local part of every e-mail address in it masked (L3: personal data). */
export function maskEmails(text: string): string {
  return text.includes('@') ? text.replace(EMAIL, '***@$1') : text;
}

function isOpaque(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp;
}

/**
 * `value` with every field named in REDACTED_KEYS blanked and e-mail addresses masked (objects, arrays,
 * instances), copied where changed.
 */
function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskEmails(value);
  if (value === null || typeof value !== 'object' || isOpaque(value)) return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') return scrubValue(json.call(value), depth);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = scrubValue(value[i], depth + 1);
      if (item === value[i]) continue;
      copy ??= [...value];
      copy[i] = item;
    }
    return copy ?? value;
  }
  return scrubFields(value as Record<string, unknown>, depth);
}

function scrubFields(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    let scrubbed: unknown;
    if (REDACTED_KEYS.has(key.toLowerCase())) scrubbed = CENSOR;
    else if (depth === 0 && SERIALIZED.has(key)) scrubbed = value;
    else scrubbed = scrubValue(value, depth + 1);
    if (scrubbed === value) continue;
    copy ??= { ...obj };
    copy[key] = scrubbed;
  }
  return copy ?? obj;
}

/**
 * What pino's `redact` did with a list of paths, by key name at every depth, for the price of a walk
 * over what is actually logged: a request that logs one completion line pays for five small fields.
 * (pino's path redaction with wildcards cost tens of microseconds per line and per child logger.)
 */
export function scrubLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  return scrubFields(obj, 0);
}

const SENSITIVE_PARAM = /pass|token|secret|key|code|otp|sig|auth|session|email|state|nonce|verifier/i;

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
  const logger = pino(
    {
      level,
      formatters: { log: scrubLogObject, bindings: scrubLogObject },
      serializers: {
        // pino passes the message through the serializer named by its message key.
        msg: (msg: unknown) => (typeof msg === 'string' ? maskEmails(msg) : msg),
        err: serializeError,
        error: serializeError,
        req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          url: maskEmails(redactUrl(req.url)),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    stream,
  );
  // pino formats only the root's own bindings: a child's (logger.child({ user })) would be written as given.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, scrubLogObject(bindings), options);
  } as Logger['child'];
  return logger;
}

/**
 * Fastify's request log, one line per request instead of two: "request completed" (or "request
 * errored") at the end, with the method, redacted URL and address of the request, its status and
 * time. Nothing is logged when the request arrives.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    } else {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    }
  }
}

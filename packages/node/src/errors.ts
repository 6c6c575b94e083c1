/** Stable machine-readable reasons a request or token is refused. */
export type RampartAuthErrorCode =
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'session_revoked'
  | 'insufficient_permission'
  | 'second_factor_required'
  | 'jwks_unavailable';

const STATUS: Record<RampartAuthErrorCode, 401 | 403 | 503> = {
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  session_revoked: 401,
  insufficient_permission: 403,
  second_factor_required: 401,
  jwks_unavailable: 503,
};

const MESSAGE: Record<RampartAuthErrorCode, string> = {
  token_missing: 'An access token is required',
  token_invalid: 'The access token is invalid',
  token_expired: 'The access token has expired',
  session_revoked: 'The session of this access token has been logged out',
  insufficient_permission: 'The access token lacks a required permission',
  second_factor_required: 'A second authentication factor is required',
  jwks_unavailable: "The issuer's signing keys could not be fetched",
};

/**
 * The one error class of the SDK. `code` is stable (safe to branch on and to send to clients),
 * `status` is the HTTP status it maps to, `message` is safe to show; `cause` keeps the underlying
 * jose or network error for logs and must not be sent to clients.
 */
export class RampartAuthError extends Error {
  override readonly name = 'RampartAuthError';
  readonly code: RampartAuthErrorCode;
  readonly status: 401 | 403 | 503;

  constructor(code: RampartAuthErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? MESSAGE[code], options);
    this.code = code;
    this.status = STATUS[code];
  }
}

export function isRampartAuthError(value: unknown): value is RampartAuthError {
  return value instanceof RampartAuthError;
}

/**
 * The one error type features throw. `code` is stable and documented (clients switch on it);
 * `message` is for people and never carries secrets or internal detail.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly fields?: FieldError[],
    /** For 429: when the client may try again (sent as Retry-After). */
    readonly retryAfterSec?: number,
    /** For pages: where a browser resolves this (a GET is sent back to where it was afterwards). */
    readonly redirectTo?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * A problem the operator fixes (a port in use, a locked or missing data directory, a bad argument):
 * the CLI prints its message as one plain line, with no stack trace, and exits 1.
 */
export class OperatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
  }
}

export interface FieldError {
  field: string;
  message: string;
}

export const notFound = (what = 'The page or resource') => new AppError('not_found', 404, `${what} was not found.`);

export const rateLimited = (retryAfterSec: number) =>
  new AppError(
    'rate_limited',
    429,
    'Too many attempts. Wait a little and try again.',
    undefined,
    Math.max(1, Math.ceil(retryAfterSec)),
  );

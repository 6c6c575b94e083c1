/**
 * The one error type features throw. `code` is stable and documented (clients switch on it);
 * `message` is for people and never carries secrets or internal detail.
 *
 * Features do not pick statuses: each declares its codes once in its `errors.ts` (`defineErrors`)
 * and throws through that catalog's `fail`, so one code has one status across the product (R6).
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields?: FieldError[];
  /** For 429: when the client may try again (sent as Retry-After). */
  readonly retryAfterSec?: number;
  /** For pages: where a browser resolves this (a GET is sent back to where it was afterwards). */
  readonly redirectTo?: string;

  constructor(options: AppErrorOptions) {
    super(options.message);
    this.name = 'AppError';
    this.code = options.code;
    this.status = options.status;
    this.fields = options.fields;
    this.retryAfterSec = options.retryAfterSec;
    this.redirectTo = options.redirectTo;
  }
}

export interface AppErrorOptions {
  code: string;
  status: number;
  message: string;
  fields?: FieldError[];
  retryAfterSec?: number;
  redirectTo?: string;
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

/** One code of a catalog: its one status, the default message, and what it means (for docs/errors.md). */
export interface ErrorSpec {
  status: number;
  message: string;
  /** For the docs: when a client gets this code. Markdown, one line. */
  description: string;
  /** For pages: where a browser resolves this, unless the throw site says otherwise. */
  redirectTo?: string;
}

/** What a throw site may vary: never the status. */
export interface FailOptions {
  message?: string;
  fields?: FieldError[];
  retryAfterSec?: number;
  redirectTo?: string;
}

export interface ErrorCatalog<C extends string = string> {
  /** The codes in declaration order (the docs keep it). */
  readonly codes: { readonly [K in C]: Readonly<ErrorSpec> };
  /** The error for `code`, with the catalog's status; `code` is one of this catalog's keys. */
  fail(code: C, options?: FailOptions): AppError;
}

const CODE = /^[a-z][a-z0-9_]*$/;

/** A feature's error codes, declared once: `fail(code, ...)` accepts only these codes. */
export function defineErrors<const T extends Record<string, ErrorSpec>>(
  specs: T,
): ErrorCatalog<Extract<keyof T, string>> {
  for (const [code, spec] of Object.entries(specs)) {
    if (!CODE.test(code)) throw new Error(`error code ${code}: lower snake_case only`);
    if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599)
      throw new Error(`error code ${code}: status ${spec.status} is not an HTTP error status`);
  }
  const codes = Object.freeze({ ...specs });
  return {
    codes,
    fail(code, options = {}) {
      const spec: ErrorSpec | undefined = codes[code];
      if (!spec) throw new Error(`unknown error code ${code}`);
      return new AppError({
        code,
        status: spec.status,
        message: options.message ?? spec.message,
        fields: options.fields,
        retryAfterSec: options.retryAfterSec,
        redirectTo: options.redirectTo ?? spec.redirectTo,
      });
    },
  };
}

/** Codes of the HTTP layer itself, before or around any feature. */
export const PLATFORM_ERRORS = defineErrors({
  invalid_request: {
    status: 400,
    message: 'Some fields are missing or invalid.',
    description:
      'the body, query or path failed its schema (or a check of the same kind, like a time range that ends before ' +
      'it starts); `fields` names each problem, including fields the endpoint does not accept',
  },
  invalid_json: {
    status: 400,
    message: 'The request body is not valid JSON.',
    description: 'the body is not valid JSON, or empty but declared as JSON (the input is never quoted back)',
  },
  bad_request: {
    status: 400,
    message: 'The request could not be understood.',
    description: 'any other malformed request (a Content-Length that does not match the body, a NUL in a path)',
  },
  forbidden: {
    status: 403,
    message: 'The request could not be understood.',
    description: 'a path that is never served, whoever asks (a folder of static files, a path outside it)',
  },
  csrf_failed: {
    status: 403,
    message: 'This request was refused to protect you from cross-site request forgery. Reload the page and try again.',
    description: 'a state-changing request from another origin, or without the token tied to its session',
  },
  not_found: {
    status: 404,
    message: 'The page or resource was not found.',
    description: "no such route, or no such object *for you* (another tenant's object answers the same)",
  },
  precondition_failed: {
    status: 412,
    message: 'The request could not be understood.',
    description: 'a static file requested with `If-Match` or `If-Unmodified-Since` that does not hold',
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is larger than this endpoint accepts.',
    description: 'the body is larger than the endpoint accepts (64 KiB by default)',
  },
  uri_too_long: {
    status: 414,
    message: 'The address is longer than this server accepts.',
    description: 'a path parameter longer than 100 characters (no id or name of ours is that long)',
  },
  unsupported_media_type: {
    status: 415,
    message: 'This endpoint does not accept that content type.',
    description: 'a content type the endpoint does not accept',
  },
  range_not_satisfiable: {
    status: 416,
    message: 'The request could not be understood.',
    description: 'a static file requested with a `Range` outside the file',
  },
  rate_limited: {
    status: 429,
    message: 'Too many attempts. Wait a little and try again.',
    description: 'too many attempts; `Retry-After` says when to try again',
  },
  internal_error: {
    status: 500,
    message: 'Something went wrong on our side. Quote the request id if you contact support.',
    description: 'anything unexpected; only the request id is shown, the details are in the log',
  },
});

export type PlatformErrorCode = keyof typeof PLATFORM_ERRORS.codes;
export const platformError = PLATFORM_ERRORS.fail;

export const notFound = (what = 'The page or resource') =>
  platformError('not_found', { message: `${what} was not found.` });

export const rateLimited = (retryAfterSec: number) =>
  platformError('rate_limited', { retryAfterSec: Math.max(1, Math.ceil(retryAfterSec)) });

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { h } from 'preact';
import { AppError, type FieldError, type PlatformErrorCode, platformError } from '../errors.js';
import { MessagePage } from '../views/layout.js';
import { setStaticHeaders } from './security-headers.js';

const JSON_PATHS = /^\/(api\/|healthz|readyz|\.well-known\/)/;

/** API clients get JSON; people in a browser get a page. */
export function wantsJson(request: FastifyRequest): boolean {
  if (JSON_PATHS.test(request.url)) return true;
  return !(request.headers.accept ?? '').includes('text/html');
}

export interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function describe(issue: ValidationIssue): string {
  switch (issue.keyword) {
    case 'additionalProperties':
      return 'is not an accepted field';
    case 'required':
      return 'is required';
    case 'format':
      return issue.params.format === 'email'
        ? 'must be an e-mail address, like name@example.com'
        : `must be a valid ${String(issue.params.format)}`;
    case 'minLength':
      return issue.params.limit === 1 ? 'is required' : `must be at least ${String(issue.params.limit)} characters`;
    case 'maxLength':
      return `must be at most ${String(issue.params.limit)} characters`;
    default:
      return issue.message ?? 'is invalid';
  }
}

/** One entry per offending field, first problem only, in words a person can act on. */
export function fieldErrors(context: string | undefined, issues: ValidationIssue[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of issues) {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const extra = issue.params.additionalProperty ?? issue.params.missingProperty;
    const field = [path, extra].filter(Boolean).join('.') || context || 'request';
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, message: describe(issue) });
  }
  return out;
}

/** Fastify's own errors, mapped to stable codes. Their messages may quote input, so they are not passed on. */
const FASTIFY_ERRORS: Record<string, [PlatformErrorCode, string?]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', 'The Content-Length header does not match the body.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'The request body is empty but declared as JSON.'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json'],
};

/**
 * Other client errors of Fastify and its plugins (the static files: a folder, a path outside it, a
 * precondition or range that does not hold), by status: one code per status. Any other 4xx is a 400.
 */
const BY_STATUS: Record<number, PlatformErrorCode> = {
  400: 'bad_request',
  403: 'forbidden',
  412: 'precondition_failed',
  416: 'range_not_satisfiable',
};

export function toAppError(error: FastifyError | AppError | Error): AppError | undefined {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    const fields = fieldErrors(fe.validationContext, fe.validation as ValidationIssue[]);
    return platformError('invalid_request', { fields });
  }
  const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) return platformError(known[0], { message: known[1] });
  if (error.name === 'SyntaxError' && fe.statusCode === 400) return platformError('invalid_json');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return platformError(BY_STATUS[fe.statusCode] ?? 'bad_request');
  return undefined;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  reply.code(error.status);
  if (error.retryAfterSec !== undefined) reply.header('Retry-After', String(error.retryAfterSec));
  if (error.redirectTo && !wantsJson(request)) {
    const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
    return reply.redirect(`${error.redirectTo}${next}`, 303);
  }
  if (wantsJson(request)) {
    return reply.send({
      error: {
        code: error.code,
        message: error.message,
        requestId: request.id,
        ...(error.fields ? { fields: error.fields } : {}),
      },
    });
  }
  return reply.render(
    error.status === 404 ? 'Not found' : 'Something went wrong',
    h(MessagePage, {
      heading: error.status === 404 ? 'Not found' : error.status >= 500 ? 'Something went wrong' : 'That did not work',
      children: [
        h('p', null, error.message),
        error.fields
          ? h(
              'ul',
              null,
              error.fields.map((f) => h('li', null, `${f.field}: ${f.message}`)),
            )
          : null,
        h('p', null, 'Request id: ', h('span', { class: 'request-id' }, request.id)),
      ],
    }),
  );
}

const INTERNAL = platformError('internal_error');

/**
 * Requests the router refuses before any hook runs (an undecodable path, a path parameter over the
 * length limit): the same error shape, request id and security headers as every other answer.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  setStaticHeaders(reply);
  reply.header('x-request-id', request.id);
  const known =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? platformError('uri_too_long') : platformError('bad_request');
  request.log.info({ code: known.code, status: known.status }, 'request refused');
  reply.code(known.status).send({ error: { code: known.code, message: known.message, requestId: request.id } });
}

/** R6: clients get a stable code and the request id; the stack goes to the log only. */
export function errorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toAppError(error);
    if (known) {
      request.log.info({ code: known.code, status: known.status }, 'request refused');
      return sendError(request, reply, known);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendError(request, reply, INTERNAL);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, platformError('not_found')));
}

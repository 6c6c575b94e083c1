import { Type, type TObject, type TProperties } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../errors.js';
import type { FormState } from '../views/forms.js';
import { CSRF_FIELD } from './csrf.js';
import { fieldErrors, type ValidationIssue } from './errors.js';

/**
 * A browser form body: the given fields plus the CSRF token, nothing else. The token is optional
 * here only because scripts may send it as a header instead; the CSRF check itself requires one.
 */
export function formBody<T extends TProperties>(fields: T): TObject<T> {
  return Type.Object(
    { ...fields, [CSRF_FIELD]: Type.Optional(Type.String({ maxLength: 200 })) },
    { additionalProperties: false },
  ) as never;
}

/** With `attachValidation`, a form route re-renders itself with these next to the fields. */
export function validationErrors(request: FastifyRequest): FieldError[] | undefined {
  const error = request.validationError as
    | (Error & { validation?: ValidationIssue[]; validationContext?: string })
    | undefined;
  if (!error?.validation) return undefined;
  return fieldErrors(error.validationContext, error.validation);
}

/**
 * An error a form shows next to its fields or above them. Anything else (unexpected, a 5xx, or one
 * that sends the browser elsewhere, like step-up) is rethrown for the error pages.
 */
export function formFailure(
  err: unknown,
  values?: Record<string, string | undefined>,
): { status: number; state: FormState; retryAfter?: number } {
  if (!(err instanceof AppError) || err.status >= 500 || err.redirectTo) throw err;
  return {
    status: err.status,
    state: { values, errors: err.fields, message: err.fields ? undefined : err.message },
    retryAfter: err.retryAfterSec,
  };
}

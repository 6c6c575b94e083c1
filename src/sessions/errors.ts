import { defineErrors } from '../platform/errors.js';

/** Sessions: who the request is. Identity, two-factor and organizations build on these codes. */
export const SESSION_ERRORS = defineErrors({
  unauthenticated: {
    status: 401,
    message: 'Sign in first.',
    description:
      'the request needs a session and has none, or a sign-in that expired or was already finished ' +
      '(pages redirect to `/signin` instead)',
  },
  second_factor_required: {
    status: 401,
    message: 'Finish signing in with your second factor.',
    description:
      'the session passed the password (or a mailed link) of an account with a second factor and has not ' +
      'presented it yet; only `/signin/second-factor` and `/api/v1/signin/second-factor…` accept it ' +
      '(pages redirect there)',
  },
  email_unverified: {
    status: 403,
    message: 'Confirm your e-mail address first: check your inbox.',
    description:
      'the account has not confirmed its e-mail address yet (pages redirect to `/verify-email/pending`), ' +
      'also when accepting an invitation',
  },
  already_signed_in: {
    status: 409,
    message: 'This session is already signed in.',
    description: 'a second-factor endpoint called by a session that is already fully signed in',
  },
});

export const sessionError = SESSION_ERRORS.fail;

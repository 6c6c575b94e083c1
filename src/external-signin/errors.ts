import { defineErrors } from '../platform/errors.js';

/** A7: sign-in through upstream OpenID providers, and the links between accounts and upstream identities. */
export const EXTERNAL_SIGNIN_ERRORS = defineErrors({
  upstream_invalid: {
    status: 400,
    message: 'The upstream provider settings are not valid.',
    description:
      'configuring an upstream provider with a bad id, name, issuer (https only, http on localhost in dev mode) ' +
      'or client id',
  },
  upstream_exists: {
    status: 409,
    message: 'An upstream provider with this id is already configured.',
    description: 'configuring an upstream provider id that is taken',
  },
  upstream_not_found: {
    status: 404,
    message: 'There is no such sign-in provider.',
    description: 'starting a sign-in or a link through an upstream provider that is not configured',
  },
  upstream_unavailable: {
    status: 502,
    message: 'The sign-in provider could not be reached. Try again in a moment, or sign in another way.',
    description: "the upstream provider's discovery document could not be fetched or is not valid",
  },
  external_sign_in_expired: {
    status: 400,
    message: 'This sign-in expired, was already used, or was started in another browser. Start again.',
    description:
      'an upstream callback whose state is unknown, used, older than 10 minutes, or not from the browser that ' +
      'started it',
  },
  external_sign_in_failed: {
    status: 400,
    message: 'The sign-in provider did not confirm who you are. Try again, or sign in another way.',
    description:
      'the upstream refused or the answer failed a check (code exchange, PKCE, ID token signature, issuer, nonce)',
  },
  upstream_email_unverified: {
    status: 403,
    message:
      'Your account there has no verified e-mail address, so no account was made here. Verify the address with ' +
      'that provider first, or create an account here.',
    description: 'a first upstream sign-in whose e-mail address the upstream does not say it verified',
  },
  account_not_linked: {
    status: 409,
    message:
      'An account with this e-mail address already exists here, and it is not linked to that provider. Sign in ' +
      'with your password (or another way) first; then link the provider on your account security page.',
    description:
      'a first upstream sign-in whose address belongs to an existing account: accounts are never linked by ' +
      'address alone',
  },
  identity_linked_elsewhere: {
    status: 409,
    message: 'That account at the provider is already linked to another account here.',
    description: 'linking an upstream identity that another account has linked',
  },
  provider_already_linked: {
    status: 409,
    message: 'Your account is already linked to an account at this provider. Remove that link first.',
    description: 'linking a second identity of the same upstream provider to one account',
  },
  link_not_found: {
    status: 404,
    message: 'There is no such linked account.',
    description: "removing a link that is not one of the person's own",
  },
  last_sign_in_method: {
    status: 409,
    message:
      'This link is the only way your account signs in. Set a password first (“Forgot your password?” on the ' +
      'sign-in page e-mails you a link), then remove it.',
    description: 'removing the last linked identity of an account that has no password and no passkey',
  },
});

export const externalError = EXTERNAL_SIGNIN_ERRORS.fail;

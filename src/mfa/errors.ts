import { defineErrors } from '../platform/errors.js';

/** Two-factor sign-in and step-up: the authenticator app, recovery codes, passkeys. */
export const MFA_ERRORS = defineErrors({
  invalid_code: {
    status: 401,
    message: 'That code is not right, or was already used. Wait for the next one.',
    description:
      'an authenticator-app code that is wrong, outside ±30 s, or already used; a recovery code that is wrong ' +
      'or spent (`fields` names `code`)',
  },
  invalid_credentials: {
    status: 401,
    message: 'That password is not right.',
    description: 'step-up with a wrong password (`fields` names `password`)',
  },
  passkey_failed: {
    status: 401,
    message: 'That passkey could not be verified. Try again, or use another way to sign in.',
    description:
      'a passkey response that does not verify, at sign-in, step-up or registration: unknown or revoked ' +
      "credential, another account's credential, wrong origin or RP ID, a spent or expired challenge, no user " +
      'verification, a counter that went back',
  },
  passkey_exists: {
    status: 409,
    message: 'That passkey is already registered.',
    description: 'registering a credential that is already registered',
  },
  no_passkey: {
    status: 409,
    message: 'This account has no passkey.',
    description: 'asking for a passkey challenge for an account that has none',
  },
  step_up_required: {
    status: 403,
    message: 'Confirm it is you first: this needs a sign-in from the last 10 minutes.',
    description:
      'a sensitive action (turning a factor off, adding or removing a passkey, new recovery codes, changing the ' +
      'password or the sign-in address) on a session that did not authenticate in the last 10 minutes with its ' +
      'strongest factor; pages redirect to `/account/step-up`',
    redirectTo: '/account/step-up',
  },
  factor_not_allowed: {
    status: 400,
    message: 'Confirm with your strongest factor.',
    description: 'step-up with the password on an account that has a second factor (it must use that factor)',
  },
  totp_already_enabled: {
    status: 409,
    message: 'An authenticator app is already set up. Remove it first to set up another.',
    description: 'starting authenticator-app setup while one is on',
  },
  totp_not_enabled: {
    status: 409,
    message: 'No authenticator app is set up.',
    description: 'turning the app off when it is not on',
  },
  no_enrollment: {
    status: 409,
    message: 'Start setting up the authenticator app again.',
    description: 'confirming an app setup that was never started (or already finished)',
  },
  no_second_factor: {
    status: 409,
    message: 'Recovery codes stand in for a second factor: set one up first.',
    description: 'asking for recovery codes without a second factor',
  },
});

export const mfaError = MFA_ERRORS.fail;

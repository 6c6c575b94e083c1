import { defineErrors } from '../platform/errors.js';

/** Identity: accounts, passwords, mailed links, the sign-in address. */
export const IDENTITY_ERRORS = defineErrors({
  invalid_credentials: {
    status: 401,
    message: 'That e-mail and password do not match an account.',
    description:
      'wrong e-mail or password (the same answer for an unknown e-mail), or a wrong current password when ' +
      'changing it (`fields` names `currentPassword`)',
  },
  weak_password: {
    status: 400,
    message: 'Choose a longer or less common password.',
    description: 'shorter than 12 characters, or easy to guess; `fields` carries the reason',
  },
  invalid_link: {
    status: 400,
    message: 'This link is invalid, expired, or already used. Ask for a new one.',
    description: 'a mailed token that is unknown, expired, already used, or meant for another flow',
  },
  same_email: {
    status: 400,
    message: 'That is already your address.',
    description: 'an address change to the address the account already has',
  },
  email_taken: {
    status: 409,
    message: 'That address now belongs to another account, so yours keeps its current address.',
    description: 'an address-change link whose new address got an account after the link was sent',
  },
});

export const identityError = IDENTITY_ERRORS.fail;

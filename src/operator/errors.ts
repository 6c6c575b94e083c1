import { defineErrors } from '../platform/errors.js';

/** The operator: who runs this deployment, through operator tokens. */
export const OPERATOR_ERRORS = defineErrors({
  operator_unauthorized: {
    status: 401,
    message: 'This needs an operator token: send "Authorization: Bearer rop_…" (rampart operator tokens create).',
    description:
      'an operator route called without an operator token, or with a wrong or revoked one (the three look the ' +
      'same; presented tokens that fail are rate limited per address)',
  },
  operator_token_name_invalid: {
    status: 400,
    message: 'A token name is 1 to 64 letters, digits, dots, dashes or underscores.',
    description: 'creating an operator token with a name of another shape',
  },
  operator_token_exists: {
    status: 409,
    message: 'A live operator token already has this name.',
    description: 'creating an operator token with the name of one that is not revoked',
  },
  operator_token_not_found: {
    status: 404,
    message: 'There is no live operator token with this name or id.',
    description: 'revoking an operator token that does not exist or is already revoked',
  },
  operator_console_forbidden: {
    status: 403,
    message:
      'The operator console is for accounts granted it (rampart operator grant), signed in with a second factor.',
    description:
      'an operator page opened by an account not granted the console, or by a session without a second factor',
  },
  operator_user_not_found: {
    status: 404,
    message: 'There is no account with this e-mail address.',
    description: 'granting the operator console to an address that has no account',
  },
  job_not_found: {
    status: 404,
    message: 'There is no scheduled job with this name.',
    description: 'Run now on the operator console for a job name that no feature defines',
  },
  settings_invalid: {
    status: 400,
    message: 'Check the highlighted settings.',
    description: 'deployment settings with a field out of shape (the fields are named in `fields`)',
  },
});

export const operatorError = OPERATOR_ERRORS.fail;

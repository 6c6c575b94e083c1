import { defineErrors } from '../platform/errors.js';

/** Organizations: roles, invitations, API keys, the two-factor requirement, access reviews. */
export const ORG_ERRORS = defineErrors({
  forbidden: {
    status: 403,
    message: 'Your role in this organization does not allow that.',
    description: 'a member whose role (or an API key whose scopes) does not allow the action',
  },
  mfa_required: {
    status: 403,
    message:
      'This organization requires two-factor authentication: set up a second factor, or sign in with the one you have.',
    description:
      'an organization requires two-factor sign-in and this session has not used a second factor; pages redirect ' +
      'to `/account/two-factor/required` (API keys never get this)',
    redirectTo: '/account/two-factor/required',
  },
  own_mfa_missing: {
    status: 409,
    message: 'Set up a second factor for yourself (and sign in with it) before requiring one from everyone.',
    description: 'an owner requiring two-factor sign-in without using a second factor themselves',
  },
  confirmation_mismatch: {
    status: 400,
    message: "Type the organization's name exactly to delete it.",
    description: 'deleting an organization without typing its name exactly',
  },
  last_owner: {
    status: 409,
    message: 'An organization keeps at least one owner: make someone else an owner first.',
    description: 'the change would leave the organization without an owner',
  },
  already_member: {
    status: 409,
    message: 'That person is already a member.',
    description: 'inviting someone who is already a member',
  },
  invalid_link: {
    status: 400,
    message: 'This invitation is invalid, expired, already used, or for another address.',
    description: 'an invitation link that is unknown, expired, already used, or for another address',
  },
  invalid_api_key: {
    status: 401,
    message: 'The API key is unknown, revoked or expired.',
    description: 'a bearer key that is unknown, revoked or expired, or whose creator is no longer a member',
  },
});

export const orgError = ORG_ERRORS.fail;

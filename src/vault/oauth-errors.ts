import { defineErrors } from '../platform/errors.js';

/** A7 (connections half): OAuth connections of the vault, their flows, refresh and disconnect. */
export const VAULT_OAUTH_ERRORS = defineErrors({
  oauth_provider_invalid: {
    status: 400,
    message: 'The OAuth provider settings are not valid.',
    description:
      'saving an OAuth provider with a bad id, name, endpoint (https only, http on localhost in dev mode), ' +
      'client id or scopes',
  },
  oauth_provider_not_found: {
    status: 404,
    message: 'There is no such OAuth provider.',
    description: 'connecting through a provider that is not configured, or is not an OAuth provider',
  },
  oauth_label_invalid: {
    status: 400,
    message: 'Give the connection a label of 1 to 80 characters.',
    description: 'starting an OAuth connection with an empty or overlong label',
  },
  oauth_label_taken: {
    status: 409,
    message: 'This organization already has a connection with this label. Choose another label.',
    description: 'finishing an OAuth connection whose label another connection of the organization has',
  },
  oauth_flow_expired: {
    status: 400,
    message: 'This connection attempt expired, was already used, or was started in another browser. Start again.',
    description:
      'an OAuth callback whose state is unknown, used, older than 10 minutes, from another browser or from ' +
      'another signed-in person than the one who started it',
  },
  oauth_denied: {
    status: 400,
    message: 'The provider did not grant access, so nothing was connected. You can try again.',
    description: 'the provider answered the authorization with an error (access_denied and the like)',
  },
  oauth_exchange_failed: {
    status: 502,
    message: 'The provider did not complete the connection (its answer was refused). Try again in a moment.',
    description: 'the code exchange at the token endpoint failed or its answer failed a check',
  },
  oauth_refresh_failed: {
    status: 409,
    message: 'The provider refused to renew this connection: connect it again.',
    description: "the connection's refresh was refused by the provider (it is marked refresh_failed)",
  },
  oauth_refresh_busy: {
    status: 503,
    message: 'The connection is being renewed right now. Try again in a moment.',
    description: 'another instance held the refresh of the connection for longer than the wait',
  },
  oauth_provider_unreachable: {
    status: 502,
    message: 'The provider could not be reached to renew the connection. Try again in a moment.',
    description: 'a refresh failed for a reason other than a refusal (network, timeout, a bad answer)',
  },
});

export const oauthError = VAULT_OAUTH_ERRORS.fail;

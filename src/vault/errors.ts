import { defineErrors } from '../platform/errors.js';
import { VAULT_OAUTH_ERRORS } from './oauth-errors.js';

/** The credential vault: providers, connections, their use (and its OAuth half's). No message carries a secret. */
export const VAULT_ERRORS = defineErrors({
  provider_invalid: {
    status: 400,
    message: 'The provider settings are not valid.',
    description: 'a provider whose hosts, auth style, validation request or OAuth endpoints break the rules',
  },
  provider_in_use: {
    status: 409,
    message: 'Connections still use this provider: they must be deleted before it can be removed.',
    description: 'removing a provider that connections of some organization still use',
  },
  provider_unknown: {
    status: 400,
    message: 'There is no such provider.',
    description: 'a connection for a provider the operator has not configured',
  },
  connection_kind_mismatch: {
    status: 409,
    message: 'This provider connects through OAuth: use its Connect button instead of pasting a key.',
    description: 'pasting a key for an OAuth provider (or replacing the key of an OAuth connection)',
  },
  connection_label_taken: {
    status: 409,
    message: 'Another connection of this organization already has that label.',
    description: 'two connections of one organization with the same label',
  },
  connection_key_destroyed: {
    status: 410,
    message: "This organization's vault key was destroyed: its credentials can no longer be read.",
    description: "the organization's vault key was destroyed (crypto-shredding): every stored credential is gone",
  },
  connection_unreadable: {
    status: 409,
    message: 'This connection cannot be decrypted (it does not belong here). Replace its key or delete it.',
    description: 'a sealed credential that fails to open under its organization, connection, field and provider',
  },
  connection_no_token: {
    status: 409,
    message: 'This OAuth connection has no usable access token: connect it again.',
    description: 'an OAuth connection whose access token cannot be obtained',
  },
  connection_host_not_allowed: {
    status: 400,
    message: "That host is not one of the provider's allowed hosts.",
    description: "a request to a host that is not one of the connection's provider's allowed hosts",
  },
  connection_header_refused: {
    status: 400,
    message: 'Requests through a connection may not set that header.',
    description: 'a proxied request that sets authorization, cookie, host or a proxy-* header',
  },
  connection_request_failed: {
    status: 502,
    message: "The request to the connection's provider failed.",
    description:
      "the request to the provider failed before it answered; the message names the reason's stable code " +
      '(`host_not_allowed`, `blocked_address`, `redirect_refused`, `timeout`, `response_too_large`, …)',
  },
  access_token_invalid: {
    status: 401,
    message: 'The access token is not valid (expired, revoked, or not signed here).',
    description: "a product's access token that introspection would call inactive, on a connections route",
  },
  access_token_scope: {
    status: 403,
    message: "The access token does not allow using connections (scope 'connections'), or names another organization.",
    description: "a product's access token without scope `connections`, or for another organization than the route's",
  },
  ...VAULT_OAUTH_ERRORS.codes,
});

export const vaultError = VAULT_ERRORS.fail;

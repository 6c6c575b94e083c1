import { defineAuditActions } from '../platform/audit/actions.js';

export const VAULT_AUDIT_ACTIONS = defineAuditActions({
  'vault.provider_saved': { description: 'The operator added or changed a connection provider.' },
  'vault.provider_removed': { description: 'The operator removed a connection provider no connection used.' },
  'connection.created': { description: 'A connection was added (an API key pasted, or an OAuth grant).' },
  'connection.secret_replaced': { description: "A connection's key was replaced (the old one is gone)." },
  'connection.deleted': { description: 'A connection was deleted, its sealed secrets with it.' },
  'connection.checked': { description: "A connection's key was checked against its provider (valid or not)." },
  'connection.status_changed': {
    description: 'A scheduled check or refresh found a connection invalid, revoked or failing.',
  },
  'connection.used': {
    description: "A request was sent to a connection's provider with its credential (purpose, host, status).",
  },
  'connection.oauth_refreshed': { description: "An OAuth connection's access token was refreshed." },
  'connection.oauth_refresh_failed': { description: "An OAuth connection's refresh was refused by the provider." },
  'vault.org_key_destroyed': {
    description: "The organization's vault key was destroyed: every credential it sealed is unreadable.",
  },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof VAULT_AUDIT_ACTIONS, true> {}
}

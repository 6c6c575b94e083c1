import { defineAuditActions } from '../platform/audit/actions.js';

export const OIDC_AUDIT_ACTIONS = defineAuditActions({
  'oidc.client_added': { description: 'The operator registered a product (OpenID client); system stream.' },
  'oidc.client_removed': {
    description: 'The operator removed a product and everything issued to it; system stream.',
  },
  'oidc.consent_given': { description: 'A person let a product sign them in (or a first-party product did).' },
  'oidc.consent_denied': { description: 'A person refused to let a product sign them in.' },
  'oidc.refresh_token_reused': {
    description:
      "A spent refresh token or authorization code was presented again: the product's grant was revoked and the " +
      'session it came from ended.',
  },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof OIDC_AUDIT_ACTIONS, true> {}
}

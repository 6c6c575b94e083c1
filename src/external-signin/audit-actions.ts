import { defineAuditActions } from '../platform/audit/actions.js';

export const EXTERNAL_SIGNIN_AUDIT_ACTIONS = defineAuditActions({
  'upstream.added': { description: 'The operator configured an upstream OpenID provider for sign-in.' },
  'upstream.removed': {
    description: 'The operator removed an upstream OpenID provider; the accounts linked to it were unlinked.',
  },
  'external.identity_linked': { description: 'An account at an upstream provider was linked to this account.' },
  'external.identity_unlinked': { description: 'A linked account at an upstream provider was removed.' },
  'external.sign_in_refused': {
    description:
      'A sign-in through an upstream provider was refused: its address belongs to this account, which is not ' +
      'linked to that provider.',
    signInHistory: 'Refused sign-in through a provider not linked',
  },
  'external.sign_in_failed': {
    description: 'An answer from an upstream provider failed its checks (state, code, ID token, nonce).',
  },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof EXTERNAL_SIGNIN_AUDIT_ACTIONS, true> {}
}

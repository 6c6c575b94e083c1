import { defineAuditActions } from '../platform/audit/actions.js';

export const ACCOUNT_AUDIT_ACTIONS = defineAuditActions({
  'user.signed_out': { description: 'The person signed out (here, or everywhere).', signInHistory: 'Signed out' },
  'user.session_revoked': {
    description: 'The person ended one of their other sessions, or all of them.',
    signInHistory: 'Revoked a session',
  },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof ACCOUNT_AUDIT_ACTIONS, true> {}
}

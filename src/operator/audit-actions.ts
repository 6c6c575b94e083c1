import { defineAuditActions } from '../platform/audit/actions.js';

/** Written to the system stream (`rampart audit verify --stream system`). */
export const OPERATOR_AUDIT_ACTIONS = defineAuditActions({
  'operator.token_created': { description: 'An operator token was created (its secret printed once).' },
  'operator.token_revoked': { description: 'An operator token was revoked; it stopped working at once.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof OPERATOR_AUDIT_ACTIONS, true> {}
}

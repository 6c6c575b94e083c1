import { defineAuditActions } from '../platform/audit/actions.js';

/** Written to the system stream (`rampart audit verify --stream system`). */
export const OPERATOR_AUDIT_ACTIONS = defineAuditActions({
  'operator.token_created': { description: 'An operator token was created (its secret printed once).' },
  'operator.token_revoked': { description: 'An operator token was revoked; it stopped working at once.' },
  'operator.user_granted': { description: 'An account was granted the operator console (rampart operator grant).' },
  'operator.user_ungranted': { description: 'An account lost the operator console; its next request is refused.' },
  'operator.job_run': { description: 'A scheduled job was run now from the operator console (Run now).' },
  'operator.settings_changed': { description: "The product's name, security contact or policy text was changed." },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof OPERATOR_AUDIT_ACTIONS, true> {}
}

import { defineAuditActions } from '../platform/audit/actions.js';

/** Written to the system stream. */
export const TRUST_AUDIT_ACTIONS = defineAuditActions({
  'trust.checks_run': { description: "An operator ran the trust page's live checks on demand (X8)." },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof TRUST_AUDIT_ACTIONS, true> {}
}

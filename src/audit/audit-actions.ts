import { defineAuditActions } from '../platform/audit/actions.js';

export const AUDIT_LOG_AUDIT_ACTIONS = defineAuditActions({
  'audit.exported': { description: 'The audit log (or a filtered part) was exported.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof AUDIT_LOG_AUDIT_ACTIONS, true> {}
}

import { defineAuditActions } from '../platform/audit/actions.js';

export const DISCLOSURE_AUDIT_ACTIONS = defineAuditActions({
  'disclosure.report_received': { description: 'A vulnerability report arrived through the report form.' },
  'disclosure.report_status_changed': {
    description:
      'The operator moved a vulnerability report on (acknowledged, triaging, resolved, not applicable, duplicate).',
  },
  'disclosure.report_note_added': { description: 'The operator added a note to a vulnerability report’s timeline.' },
  'disclosure.deadline_missed': {
    description: 'A vulnerability report passed its acknowledgement deadline unacknowledged; the operator was mailed.',
  },
  'disclosure.settings_changed': { description: 'The operator changed the acknowledgement deadline for reports.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof DISCLOSURE_AUDIT_ACTIONS, true> {}
}

import { defineAuditActions } from '../platform/audit/actions.js';

export const INCIDENT_AUDIT_ACTIONS = defineAuditActions({
  'incident.declared': { description: 'The operator declared an incident or scheduled maintenance.' },
  'incident.draft_opened': { description: 'A failing probe opened a draft incident for a status component.' },
  'incident.confirmed': { description: 'The operator confirmed a draft incident opened by a probe.' },
  'incident.updated': { description: 'An update (public or internal) was added to an incident timeline.' },
  'incident.phase_changed': { description: 'An incident moved to its next response phase.' },
  'incident.resolved': { description: 'The operator recorded when service was restored.' },
  'incident.report_published': { description: 'The written public report (post-mortem) of an incident was published.' },
  'incident.breach_recorded': {
    description: 'The facts, effects and remedial action of a personal-data breach changed.',
  },
  'incident.breach_notified': {
    description: 'A breach notification (customers, regulator or full report) was recorded, with any late reason.',
  },
  'incident.orgs_notified': { description: 'Affected organizations were given a security notice and mailed.' },
  'incident.deadline_mailed': { description: 'An overdue breach deadline was mailed to the console operators.' },
  'incident.targets_changed': { description: 'The operator changed the response targets per severity.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof INCIDENT_AUDIT_ACTIONS, true> {}
}

import { defineAuditActions } from '../platform/audit/actions.js';

export const STATUS_AUDIT_ACTIONS = defineAuditActions({
  'status.component_added': { description: 'The operator added a component to the public status page.' },
  'status.component_changed': {
    description: 'The operator renamed, described, moved or set the state of a status page component.',
  },
  'status.component_removed': { description: 'The operator removed a component from the public status page.' },
  'status.probe_added': { description: 'The operator added an HTTPS probe to a status page component.' },
  'status.probe_removed': { description: 'The operator removed an HTTPS probe of a status page component.' },
  'status.subscriber_confirmed': {
    description: 'Someone confirmed a status page subscription by e-mail (double opt-in).',
  },
  'status.subscriber_removed': { description: 'A status page subscriber unsubscribed.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof STATUS_AUDIT_ACTIONS, true> {}
}

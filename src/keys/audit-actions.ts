import { defineAuditActions } from '../platform/audit/actions.js';

/** Written to the system stream: the deployment's master keys are the operator's. */
export const KEYS_AUDIT_ACTIONS = defineAuditActions({
  'keys.rotated': { description: 'A master key version was added and made current on every live instance (D3).' },
  'keys.rewrapped': {
    description: 'Sealed values were re-wrapped under the current master key version; the payload has the counts.',
  },
  'keys.retired': { description: 'A master key version was retired: nothing may be opened under it any more.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof KEYS_AUDIT_ACTIONS, true> {}
}

import { defineAuditActions } from '../platform/audit/actions.js';

export const SESSION_AUDIT_ACTIONS = defineAuditActions({
  'user.signed_in': {
    description: 'A session started with every factor the account needs.',
    signInHistory: 'Signed in',
  },
  'user.first_factor_passed': {
    description: 'The first factor was accepted; the session waits for the second.',
    signInHistory: 'Password accepted, second factor asked',
  },
  'user.session_rotated': {
    description: 'The session got a new identifier: a step-up, a second factor, or a privilege change elsewhere.',
  },
  'user.session_replaced': {
    description: 'A new sign-in in the same browser ended the session the browser held.',
  },
  'user.org_switched': { description: 'The session switched the organization it works in.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof SESSION_AUDIT_ACTIONS, true> {}
}

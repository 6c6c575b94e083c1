import { defineAuditActions } from '../platform/audit/actions.js';

export const MFA_AUDIT_ACTIONS = defineAuditActions({
  'mfa.totp_enrollment_started': {
    description: 'Authenticator-app setup started (a secret was issued, not yet confirmed).',
  },
  'mfa.totp_enabled': { description: 'An authenticator app was confirmed as a second factor.' },
  'mfa.totp_disabled': { description: 'The authenticator app was removed.' },
  'mfa.passkey_added': { description: 'A passkey was registered.' },
  'mfa.passkey_renamed': { description: 'A passkey was renamed.' },
  'mfa.passkey_removed': { description: 'A passkey was removed.' },
  'mfa.recovery_codes_generated': { description: 'A new set of recovery codes replaced the old one.' },
  'mfa.recovery_code_used': { description: 'A recovery code was spent.', signInHistory: 'Used a recovery code' },
  'mfa.check_failed': {
    description: 'A second-factor answer was refused.',
    signInHistory: 'Failed second-factor check',
  },
  'user.stepped_up': {
    description: 'The person confirmed who they are again before a sensitive action.',
    signInHistory: 'Confirmed for a sensitive action',
  },
  'user.step_up_failed': { description: 'A confirmation before a sensitive action was refused.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof MFA_AUDIT_ACTIONS, true> {}
}

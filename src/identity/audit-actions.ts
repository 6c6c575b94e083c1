import { defineAuditActions } from '../platform/audit/actions.js';

export const IDENTITY_AUDIT_ACTIONS = defineAuditActions({
  'user.signed_up': { description: 'An account was created (its address not yet verified).' },
  'user.sign_up_for_existing_email': {
    description: 'Someone tried to sign up with the address of this account; its owner was told.',
  },
  'user.verification_resent': { description: 'A new address-verification link was mailed.' },
  'user.email_verified': { description: 'The account proved it receives mail at its address.' },
  'user.sign_in_failed': { description: 'A password sign-in was refused.', signInHistory: 'Failed sign-in' },
  'user.magic_link_requested': { description: 'A sign-in link was mailed.' },
  'user.magic_link_used': { description: 'A sign-in link was used.', signInHistory: 'Used a sign-in link' },
  'user.password_reset_requested': { description: 'A password-reset link was mailed.' },
  'user.password_reset': {
    description: 'The password was reset with a mailed link; every other session ended.',
    signInHistory: 'Reset the password',
  },
  'user.password_changed': { description: 'The password was changed; every other session ended.' },
  'user.password_change_failed': { description: 'A password change was refused: the current password was wrong.' },
  'user.email_change_requested': { description: 'A link to move the account to a new address was mailed there.' },
  'user.email_changed': { description: 'The account moved to a new address; the old address was told.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof IDENTITY_AUDIT_ACTIONS, true> {}
}

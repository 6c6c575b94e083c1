import { defineAuditActions } from '../platform/audit/actions.js';

export const ORG_AUDIT_ACTIONS = defineAuditActions({
  'org.created': { description: 'The organization was created; its creator became the owner.' },
  'org.renamed': { description: 'The organization was renamed.' },
  'org.deleted': { description: 'The organization was deleted.' },
  'org.mfa_required': { description: 'Two-factor sign-in became required of every member.' },
  'org.mfa_not_required': { description: 'Two-factor sign-in stopped being required.' },
  'org.ownership_transferred': { description: 'An owner made another member owner and stepped down to admin.' },
  'member.invited': { description: 'An invitation was mailed.' },
  'member.invitation_resent': { description: 'An invitation was mailed again; the previous link stopped working.' },
  'member.invitation_revoked': { description: 'An invitation was revoked.' },
  'member.joined': { description: 'Someone accepted an invitation and became a member.' },
  'member.role_changed': { description: "A member's role was changed; their sessions rotate." },
  'member.removed': { description: 'A member was removed and lost access at once.' },
  'member.left': { description: 'A member left the organization.' },
  'api_key.created': { description: 'An API key was created (its secret shown once).' },
  'api_key.revoked': { description: 'An API key was revoked; it stopped working at once.' },
  'access_review.signed_off': { description: 'An access review was signed off.' },
});

declare module '../platform/audit/actions.js' {
  interface AuditActionNames extends Record<keyof typeof ORG_AUDIT_ACTIONS, true> {}
}

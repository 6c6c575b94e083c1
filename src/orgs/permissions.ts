/**
 * O1: the permission matrix, as data. Every organization route checks one of these; the table in
 * docs/permissions.md is generated from this module (`npm run docs:permissions`), and a test fails
 * when the two disagree.
 */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  'org.read': 'See the organization and its settings',
  'org.rename': 'Rename the organization',
  'org.delete': 'Delete the organization',
  'org.require_mfa': 'Require two-factor authentication of every member',
  'org.transfer_ownership': 'Make another member an owner and step down',
  'members.read': 'See members and their roles',
  'members.invite': 'Invite people (with a role no higher than your own)',
  'members.change_role': "Change a member's role (never above your own)",
  'members.remove': 'Remove a member',
  'invitations.read': 'See pending invitations',
  'invitations.revoke': 'Revoke or resend an invitation',
  'api_keys.read': 'See API keys (prefix, scopes, last use)',
  'api_keys.create': 'Create API keys (scopes no wider than your own)',
  'api_keys.revoke': 'Revoke API keys',
  'audit.read': 'Read, filter and verify the audit log',
  'audit.export': 'Export the audit log',
  'reviews.read': 'See the access review report',
  'reviews.sign_off': 'Sign off an access review',
} as const;
export type Permission = keyof typeof PERMISSIONS;

const ALL = Object.keys(PERMISSIONS) as Permission[];
const MEMBER: Permission[] = ['org.read', 'members.read'];

export const MATRIX: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(ALL),
  admin: new Set(ALL.filter((p) => p !== 'org.delete' && p !== 'org.transfer_ownership' && p !== 'org.require_mfa')),
  member: new Set(MEMBER),
  viewer: new Set(['org.read']),
};

export function can(role: Role, permission: Permission): boolean {
  return MATRIX[role].has(permission);
}

/** Higher number, more power: a role may grant only roles at or below its own. */
export const RANK: Record<Role, number> = { owner: 4, admin: 3, member: 2, viewer: 1 };

export function permissionsTable(): string {
  const header = `| permission | what it allows | ${ROLES.join(' | ')} |\n| --- | --- | ${ROLES.map(() => ':---:').join(' | ')} |`;
  const rows = ALL.map(
    (p) => `| \`${p}\` | ${PERMISSIONS[p]} | ${ROLES.map((r) => (can(r, p) ? 'yes' : '')).join(' | ')} |`,
  );
  return [header, ...rows].join('\n');
}

export function permissionsDoc(): string {
  return `# Roles and permissions (O1)

Generated from \`src/orgs/permissions.ts\` by \`npm run docs:permissions\`; a test fails when this file
is stale. Membership and role are read from the database on every request, so a change is in force
on the member's very next request. An organization always keeps at least one owner.

${permissionsTable()}
`;
}

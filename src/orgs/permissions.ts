import type { Permission } from '../feature.js';

/**
 * O1: roles and the permission registry. Each feature declares the permissions it checks, with the
 * roles that hold them (definePermissions, at import); the matrix is what was declared, and
 * docs/permissions.md is generated from it (`npm run docs`), a test failing when the two disagree.
 */
export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Higher number, more power: a role may grant only roles at or below its own. */
export const RANK: Record<Role, number> = { owner: 4, admin: 3, member: 2, viewer: 1 };

/** O1: whether a member in one role may hand out (invite with, or change someone to) another. */
export const mayGrant = (granter: Role, role: Role): boolean => RANK[role] <= RANK[granter];

export interface PermissionDef {
  description: string;
  roles: readonly Role[];
}

export type { Permission } from '../feature.js';

const declared = new Map<string, PermissionDef>();

/** Declares a feature's permissions. A name declared twice is a start-up error. */
export function definePermissions<const T extends Record<string, PermissionDef>>(defs: T): T {
  for (const [name, def] of Object.entries(defs)) {
    if (declared.has(name)) throw new Error(`permission ${name} is declared twice`);
    declared.set(name, def);
  }
  return defs;
}

/** Every declared permission, in declaration order. */
export function permissions(): Permission[] {
  return [...declared.keys()] as Permission[];
}

export function isPermission(name: string): name is Permission {
  return declared.has(name);
}

export function describePermission(p: Permission): string {
  return declared.get(p)?.description ?? p;
}

/** An undeclared permission is held by no one. */
export function can(role: Role, permission: Permission): boolean {
  return declared.get(permission)?.roles.includes(role) ?? false;
}

const ALL: readonly Role[] = ROLES;
const ADMINS: readonly Role[] = ['owner', 'admin'];
const MEMBERS: readonly Role[] = ['owner', 'admin', 'member'];
const OWNER: readonly Role[] = ['owner'];
export const HELD_BY = { all: ALL, members: MEMBERS, admins: ADMINS, owner: OWNER } as const;

/** The organizations feature's own permissions. */
export const ORG_PERMISSIONS = definePermissions({
  'org.read': { description: 'See the organization and its settings', roles: ALL },
  'org.rename': { description: 'Rename the organization', roles: ADMINS },
  'org.delete': { description: 'Delete the organization', roles: OWNER },
  'org.require_mfa': { description: 'Require two-factor authentication of every member', roles: OWNER },
  'org.transfer_ownership': { description: 'Make another member an owner and step down', roles: OWNER },
  'members.read': { description: 'See members and their roles', roles: MEMBERS },
  'members.invite': { description: 'Invite people (with a role no higher than your own)', roles: ADMINS },
  'members.change_role': { description: "Change a member's role (never above your own)", roles: ADMINS },
  'members.remove': { description: 'Remove a member', roles: ADMINS },
  'invitations.read': { description: 'See pending invitations', roles: ADMINS },
  'invitations.revoke': { description: 'Revoke or resend an invitation', roles: ADMINS },
  'api_keys.read': { description: 'See API keys (prefix, scopes, last use)', roles: ADMINS },
  'api_keys.create': { description: 'Create API keys (scopes no wider than your own)', roles: ADMINS },
  'api_keys.revoke': { description: 'Revoke API keys', roles: ADMINS },
  'reviews.read': { description: 'See the access review report', roles: ADMINS },
  'reviews.sign_off': { description: 'Sign off an access review', roles: ADMINS },
});

declare module '../feature.js' {
  interface PermissionNames extends Record<keyof typeof ORG_PERMISSIONS, true> {}
}

import { definePermissions, HELD_BY } from '../orgs/index.js';

export const AUDIT_PERMISSIONS = definePermissions({
  'audit.read': { description: 'Read, filter and verify the audit log', roles: HELD_BY.admins },
  'audit.export': { description: 'Export the audit log', roles: HELD_BY.admins },
});

declare module '../feature.js' {
  interface PermissionNames extends Record<keyof typeof AUDIT_PERMISSIONS, true> {}
}

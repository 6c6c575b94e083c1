import { definePermissions, HELD_BY } from '../orgs/index.js';

export const INCIDENT_PERMISSIONS = definePermissions({
  'security_notices.read': {
    description: 'Read the security notices the operator sent the organization',
    roles: HELD_BY.all,
  },
});

declare module '../feature.js' {
  interface PermissionNames extends Record<keyof typeof INCIDENT_PERMISSIONS, true> {}
}

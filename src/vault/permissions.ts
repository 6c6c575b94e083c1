import { definePermissions, HELD_BY } from '../orgs/index.js';

/** Who may see, change and use the organization's connections (issue 15). Deleting is immediate. */
export const VAULT_PERMISSIONS = definePermissions({
  'connections.read': { description: 'See connections (provider, label, masked key, status)', roles: HELD_BY.members },
  'connections.manage': {
    description: 'Add, replace the key of, check and delete connections (OAuth: connect and disconnect)',
    roles: HELD_BY.admins,
  },
  'connections.use': {
    description: "Send requests to a connection's provider with its credential (never seeing it)",
    roles: HELD_BY.admins,
  },
});

declare module '../feature.js' {
  interface PermissionNames extends Record<keyof typeof VAULT_PERMISSIONS, true> {}
}

import { describe, expect, it } from 'vitest';
import '../features.js';
import { can, permissions, RANK, ROLES, type Permission, type Role } from './permissions.js';

/** The matrix as the product promises it, written out by hand: a change to either side must be deliberate. */
const EXPECTED: Record<Permission, Role[]> = {
  'org.read': ['owner', 'admin', 'member', 'viewer'],
  'org.rename': ['owner', 'admin'],
  'org.delete': ['owner'],
  'org.require_mfa': ['owner'],
  'org.transfer_ownership': ['owner'],
  'members.read': ['owner', 'admin', 'member'],
  'members.invite': ['owner', 'admin'],
  'members.change_role': ['owner', 'admin'],
  'members.remove': ['owner', 'admin'],
  'invitations.read': ['owner', 'admin'],
  'invitations.revoke': ['owner', 'admin'],
  'api_keys.read': ['owner', 'admin'],
  'api_keys.create': ['owner', 'admin'],
  'api_keys.revoke': ['owner', 'admin'],
  'audit.read': ['owner', 'admin'],
  'audit.export': ['owner', 'admin'],
  'reviews.read': ['owner', 'admin'],
  'reviews.sign_off': ['owner', 'admin'],
  'security_notices.read': ['owner', 'admin', 'member', 'viewer'],
  'connections.read': ['owner', 'admin', 'member'],
  'connections.manage': ['owner', 'admin'],
  'connections.use': ['owner', 'admin'],
};

describe('permission matrix (O1)', () => {
  const cases = permissions().flatMap((p) => ROLES.map((r) => [r, p, EXPECTED[p].includes(r)] as const));
  it.each(cases)('[O1] %s may %s: %s', (role, permission, allowed) => {
    expect(can(role, permission)).toBe(allowed);
  });

  it('[O1] every permission is in the expected table, and roles are strictly ranked', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...permissions()].sort());
    expect([...ROLES].sort((a, b) => RANK[b] - RANK[a])).toEqual(['owner', 'admin', 'member', 'viewer']);
    // A higher role can do everything a lower one can.
    for (const p of permissions()) {
      for (const [hi, lo] of [
        ['owner', 'admin'],
        ['admin', 'member'],
        ['member', 'viewer'],
      ] as const) {
        if (can(lo, p)) expect(can(hi, p), `${hi} ⊇ ${lo} on ${p}`).toBe(true);
      }
    }
  });
});

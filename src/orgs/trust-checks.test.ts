import { describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { trustTestApp } from '../../test/helpers/trust.js';
import type { Feature } from '../feature.js';
import { injectProbe } from '../trust/probe.js';
import { can } from './permissions.js';
import { roleMatrixCheck } from './trust-checks.js';
import { invitationCheck } from './trust-invitations.js';

const { t, ctx, check } = await trustTestApp();
const probe = injectProbe(t.app);
const helpers = accounts(t);
const owner = await helpers.signedIn(await helpers.verified());
const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Checked' })).json().id as string;
const member = await orgPeople(t).join(owner, orgId, 'member');
await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'viewer' });
const { key, info } = (
  await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, { name: 'ci', scopes: ['members.read'], expiresInDays: 30 })
).json() as { key: string; info: { id: string } };
const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows changed straight in the database (bypassing the service), for a bad state. */
const db = () => t.db.owner;

describe('O1 role matrix check', () => {
  it('[O1] role matrix check passes: the matrix in force is the documented one, grants go no higher', async () => {
    const v = await check('org-role-matrix');
    expect(v.status, v.detail).toBe('passing');
    expect(v.detail).toMatch(/permissions × 4 roles in force match.*the 10 at or below .* the 6 above refused/);
  });

  it('[O1] role matrix check fails when the documented matrix differs from the one in force', async () => {
    const drifted: Feature = {
      name: 'drift',
      title: 'Drift',
      permissions: {
        'org.rename': { description: 'Rename', roles: ['owner', 'admin', 'member'] },
        'drift.unknown': { description: 'Documented only', roles: ['owner'] },
      },
    };
    const v = await roleMatrixCheck({ features: [...ctx().features, drifted] }).run(probe);
    expect(v.status).toBe('failing');
    expect(v.detail).toContain('member lacks org.rename, documented the other way');
    expect(v.detail).toContain('drift.unknown is documented but not in force');
  });

  it('[O1] role matrix check fails when a junior role holds what a senior lacks', async () => {
    const inverted: typeof can = (role, p) => (p === 'org.delete' ? role === 'viewer' : can(role, p));
    const v = await roleMatrixCheck({ features: ctx().features, can: inverted }).run(probe);
    expect(v.status).toBe('failing');
    expect(v.detail).toContain('viewer holds org.delete but owner does not');
  });

  it('[O1] role matrix check fails when an admin may invite an owner', async () => {
    const v = await roleMatrixCheck({ features: ctx().features, mayGrant: () => true }).run(probe);
    expect(v.status).toBe('failing');
    expect(v.detail).toContain('admin may invite or promote to owner');
  });
});

describe('O3 invitations and membership check', () => {
  it('[O3] invitation check passes: 7-day links, made-up token refused, roles in force as stored', async () => {
    const v = await check('org-invitations-and-membership');
    expect(v.status, v.detail).toBe('passing');
    expect(v.detail).toMatch(/invitations live 7 days; a made-up invitation token was refused/);
    expect(v.detail).toMatch(/1 pending invitation\(s\) of 1 organization\(s\).*for 2 member\(s\)/);
  });

  it('[O3] invitation check fails when invitations would live 30 days', async () => {
    const v = await invitationCheck({ db: t.db, orgs: ctx().use('orgs'), clock: t.clock, lifetimeMs: 30 * DAY_MS }).run(
      probe,
    );
    expect(v.status).toBe('failing');
    expect(v.detail).toContain('invitations live 30 days, above the 7 days limit');
  });

  it('[O3] invitation check fails when a pending invitation is stored with a 30-day life', async () => {
    const row = await db()
      .selectFrom('invitations')
      .select(['id', 'created_at', 'expires_at'])
      .where('accepted_at', 'is', null)
      .executeTakeFirstOrThrow();
    const stretch = (at: Date) => db().updateTable('invitations').set({ expires_at: at }).where('id', '=', row.id);
    await stretch(new Date(row.created_at.getTime() + 30 * DAY_MS)).execute();
    try {
      const v = await check('org-invitations-and-membership');
      expect(v.status).toBe('failing');
      expect(v.detail).toMatch(/1 pending invitation\(s\) of org .* live longer than 7 days/);
    } finally {
      await stretch(row.expires_at).execute();
    }
  });

  it('[O3] invitation check fails when the permission gate keeps a role that changed on another instance', async () => {
    await check('org-invitations-and-membership'); // the gate now keeps the member's role
    // Changed behind this instance's back, as a change whose invalidation never arrived.
    const setRole = (role: 'viewer' | 'member') =>
      db().updateTable('memberships').set({ role }).where('user_id', '=', member.id).execute();
    await setRole('viewer');
    try {
      const v = await check('org-invitations-and-membership');
      expect(v.status).toBe('failing');
      expect(v.detail).toContain(`treats member ${member.id} of org ${orgId} as member, stored viewer`);
    } finally {
      await setRole('member');
    }
    expect((await check('org-invitations-and-membership')).status).toBe('passing');
  });
});

describe('O4 access review check', () => {
  it('[O4] access review check passes: all members with role, activity and MFA; sign-offs audited', async () => {
    const signed = await owner.api('POST', `/api/v1/orgs/${orgId}/access-review/sign-off`, { note: 'ok' });
    expect(signed.statusCode).toBe(201);
    const v = await check('org-access-review');
    expect(v.status, v.detail).toBe('passing');
    expect(v.detail).toMatch(/reports of 1 organization\(s\) list all 2 member\(s\).*0 of them due for a review now/);
  });

  it('[O4] access review check fails when a sign-off is stored without its audit event', async () => {
    const { id } = await db()
      .insertInto('access_reviews')
      .values({ org_id: orgId, reviewer_id: member.id, signed_off_at: new Date(), members_reviewed: 2, note: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    try {
      const v = await check('org-access-review');
      expect(v.status).toBe('failing');
      expect(v.detail).toContain(`org ${orgId}: 1 sign-off(s) have no audit event`);
    } finally {
      await db().deleteFrom('access_reviews').where('id', '=', id).execute();
    }
  });
});

describe('O6 API key check', () => {
  const setKey = (values: { key_hash?: string; expires_at?: Date }) =>
    db().updateTable('api_keys').set(values).where('id', '=', info.id).execute();

  it('[O6] API key check passes: made-up keys refused, keys hashed under a prefix, all expiring', async () => {
    const v = await check('org-api-keys');
    expect(v.status, v.detail).toBe('passing');
    expect(v.detail).toMatch(/made-up rmp_live_ key got 401 invalid_api_key; a stored key's prefix .* refused/);
    expect(v.detail).toContain('1 live key(s) are stored as SHA-256 hashes');
  });

  it('[O6] API key check fails when a key is stored in the clear', async () => {
    const { key_hash } = await db().selectFrom('api_keys').select('key_hash').executeTakeFirstOrThrow();
    await setKey({ key_hash: key });
    try {
      const v = await check('org-api-keys');
      expect(v.status).toBe('failing');
      expect(v.detail).toContain('1 stored key row(s) hold a whole key in the clear');
      expect(v.detail).toContain('1 key(s) are stored without a SHA-256 hash');
    } finally {
      await setKey({ key_hash });
    }
  });

  it('[O6] API key check fails when a key lives five years', async () => {
    const { expires_at } = await db().selectFrom('api_keys').select('expires_at').executeTakeFirstOrThrow();
    await setKey({ expires_at: new Date(expires_at.getTime() + 5 * 365 * DAY_MS) });
    try {
      const v = await check('org-api-keys');
      expect(v.status).toBe('failing');
      expect(v.detail).toContain('1 key(s) live longer than 366 days');
    } finally {
      await setKey({ expires_at });
    }
    expect((await check('org-api-keys')).status).toBe('passing');
  });
});

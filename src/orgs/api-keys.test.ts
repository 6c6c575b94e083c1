import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { createTestApp, fileTestApp } from '../../test/helpers/app.js';
import { orgPeople } from '../../test/helpers/orgs.js';

// A small per-key budget keeps the rate-limit case short; the default is 600 a minute.
const t = await fileTestApp({ RAMPART_API_KEY_RATE_LIMIT: '30' });
const helpers = accounts(t);
const { join, inviteLink } = orgPeople(t);
const owner = await helpers.signedIn(await helpers.verified());
const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Keys Inc' })).json().id as string;
const otherOrg = (
  await (await helpers.signedIn(await helpers.verified())).api('POST', '/api/v1/orgs', { name: 'Elsewhere' })
).json().id as string;

async function createKey(scopes: string[], expiresInDays = 30) {
  const res = await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
    name: `key ${scopes.join(',')}`,
    scopes,
    expiresInDays,
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { key: string; info: { id: string; prefix: string } };
}

/** A server-to-server call: bearer key, no cookies, no Origin, no CSRF token. */
const withKey = (key: string, method: string, url: string, payload?: unknown, remoteAddress = '192.0.2.10') =>
  t.app.inject({
    method: method as 'GET',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${key}` },
    remoteAddress,
  });

describe('organization API keys (O6)', () => {
  it('[O6] a key is shown once with a visible prefix, and stored only as a hash', async () => {
    const { key, info } = await createKey(['members.read']);
    expect(key).toMatch(/^rmp_live_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`${info.prefix}_`)).toBe(true);
    const listed = (await owner.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).json().keys;
    // the secret may itself contain '_'
    expect(JSON.stringify(listed)).not.toContain(key.slice(info.prefix.length + 1));
    expect(listed.find((k: { id: string }) => k.id === info.id)).toMatchObject({
      prefix: info.prefix,
      scopes: ['members.read'],
      lastUsedAt: null,
    });
    const dump = await sql<{ t: string }>`select row_to_json(k)::text as t from api_keys k`.execute(t.db.owner);
    expect(dump.rows.map((r) => r.t).join()).not.toContain(key);
  });

  it('[O6] a key authenticates as its organization with exactly its scopes, without CSRF', async () => {
    const { key } = await createKey(['org.read', 'members.read']);
    expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
    const rename = await withKey(key, 'PATCH', `/api/v1/orgs/${orgId}`, { name: 'nope' });
    expect(rename.statusCode).toBe(403);
    expect((await withKey(key, 'GET', `/api/v1/orgs/${otherOrg}`)).statusCode).toBe(404);
    expect((await withKey(key, 'GET', '/api/v1/orgs')).statusCode).toBe(401); // a person's own list: no keys
    expect((await withKey(key, 'GET', '/api/v1/sessions')).statusCode).toBe(401);
  });

  it('[O6] last use time and address are recorded', async () => {
    const { key, info } = await createKey(['org.read']);
    await withKey(key, 'GET', `/api/v1/orgs/${orgId}`);
    const listed = (await owner.api('GET', `/api/v1/orgs/${orgId}/api-keys`))
      .json()
      .keys.find((k: { id: string }) => k.id === info.id);
    expect(listed).toMatchObject({ lastUsedIp: '192.0.2.10', lastUsedAt: expect.any(String) });
  });

  it('[O6] revoked and expired keys stop working at once; forged and unknown keys are refused', async () => {
    const { key, info } = await createKey(['org.read']);
    expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
    expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/api-keys/${info.id}`)).statusCode).toBe(204);
    const revoked = await withKey(key, 'GET', `/api/v1/orgs/${orgId}`);
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.code).toBe('invalid_api_key');

    const short = await createKey(['org.read'], 1);
    t.clock.advance(24 * 60 * 60 * 1000 + 1);
    try {
      expect((await withKey(short.key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(401);
    } finally {
      t.clock.advance(-(24 * 60 * 60 * 1000 + 1));
    }
    const live = await createKey(['org.read']);
    const forged = `${live.key.slice(0, -4)}AAAA`;
    expect((await withKey(forged, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(401);
    expect(
      (await withKey(`rmp_live_0000000000000000_${'A'.repeat(43)}`, 'GET', `/api/v1/orgs/${orgId}`)).statusCode,
    ).toBe(401);
  });

  it(
    '[O6] a key revoked on one instance is refused on the very next call to another that had it in ' + 'memory',
    async () => {
      const second = await createTestApp({ RAMPART_API_KEY_RATE_LIMIT: '30' }, undefined, {
        db: t.db,
        sameDeploymentAs: t,
      });
      second.clock.set(t.clock.now());
      try {
        const { key, info } = await createKey(['org.read']);
        const onSecond = (remoteAddress = '192.0.2.10') =>
          second.app.inject({
            method: 'GET',
            url: `/api/v1/orgs/${orgId}`,
            headers: { authorization: `Bearer ${key}` },
            remoteAddress,
          });
        for (let i = 0; i < 3; i++) expect((await onSecond()).statusCode).toBe(200);
        expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/api-keys/${info.id}`)).statusCode).toBe(204);
        const refused = await onSecond();
        expect(refused.statusCode).toBe(401);
        expect(refused.json().error.code).toBe('invalid_api_key');
      } finally {
        await second.close();
      }
    },
  );

  it('[O6] a kept key is still checked in full: a wrong secret for a known key id, and expiry, refuse it', async () => {
    const { key } = await createKey(['org.read'], 1);
    expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200); // now in memory
    const sameIdOtherSecret = `${key.slice(0, -43)}${'B'.repeat(43)}`;
    expect((await withKey(sameIdOtherSecret, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(401);
    t.clock.advance(24 * 60 * 60 * 1000 + 1);
    try {
      expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(401);
    } finally {
      t.clock.advance(-(24 * 60 * 60 * 1000 + 1));
    }
  });

  it('[O6] last use moves on a kept key when the address changes', async () => {
    const { key, info } = await createKey(['org.read']);
    await withKey(key, 'GET', `/api/v1/orgs/${orgId}`, undefined, '192.0.2.20');
    await withKey(key, 'GET', `/api/v1/orgs/${orgId}`, undefined, '192.0.2.21');
    const listed = (await owner.api('GET', `/api/v1/orgs/${orgId}/api-keys`))
      .json()
      .keys.find((k: { id: string }) => k.id === info.id);
    expect(listed.lastUsedIp).toBe('192.0.2.21');
  });

  it(
    '[O3] [O6] a key never does more than its creator may do now: lowering the creator narrows it, removing ' +
      'them revokes it',
    async () => {
      const admin = await join(owner, orgId, 'admin');
      const res = await admin.client.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
        name: 'admin key',
        scopes: ['org.read', 'members.read'],
        expiresInDays: 30,
      });
      expect(res.statusCode).toBe(201);
      const { key, info } = res.json() as { key: string; info: { id: string } };
      expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);

      // Viewers may not read members: neither may the viewer's key, from the very next call
      expect(
        (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'viewer' })).statusCode,
      ).toBe(204);
      expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(403);
      expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);

      // Removed: the key is revoked with them (an audit event says why), and stays revoked if they come back
      expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${admin.id}`)).statusCode).toBe(204);
      const refused = await withKey(key, 'GET', `/api/v1/orgs/${orgId}`);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe('invalid_api_key');
      expect(
        (await owner.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).json().keys.map((k: { id: string }) => k.id),
      ).not.toContain(info.id);
      const revoked = await t.db.withTenant(orgId, (tx) =>
        tx
          .selectFrom('audit_events')
          .select(['action', 'payload'])
          .where('target', '=', `api_key:${info.id}`)
          .orderBy('seq')
          .execute(),
      );
      expect(revoked.at(-1)).toMatchObject({ action: 'api_key.revoked', payload: { reason: 'creator_left' } });
      const firstInvitation = await t.mailTo(admin.email, /invited/);
      expect(
        (await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: admin.email, role: 'admin' }))
          .statusCode,
      ).toBe(201);
      const again = await t.mailTo(admin.email, /invited/, firstInvitation);
      expect((await admin.client.api('POST', '/api/v1/invitations/accept', inviteLink(again.text))).statusCode).toBe(
        200,
      );
      expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(401);
    },
  );

  it(
    "[O3] [O6] another instance that keeps the key and its creator's membership in memory follows a lowered " +
      'role, a removal and a revocation on the very next call',
    async () => {
      const second = await createTestApp({ RAMPART_API_KEY_RATE_LIMIT: '30' }, undefined, {
        db: t.db,
        sameDeploymentAs: t,
      });
      second.clock.set(t.clock.now());
      try {
        const onSecond = (key: string, url: string) =>
          second.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
        const admin = await join(owner, orgId, 'admin');
        const made = async () => {
          const res = await admin.client.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
            name: 'kept key',
            scopes: ['org.read', 'members.read'],
            expiresInDays: 30,
          });
          expect(res.statusCode).toBe(201);
          return res.json() as { key: string; info: { id: string } };
        };
        const a = await made();
        const b = await made();
        for (let i = 0; i < 3; i++) {
          expect((await onSecond(a.key, `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
          expect((await onSecond(b.key, `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
        }
        // Revoked on the first instance: refused on the second at once; the other key still works.
        expect((await admin.client.api('DELETE', `/api/v1/orgs/${orgId}/api-keys/${a.info.id}`)).statusCode).toBe(204);
        expect((await onSecond(a.key, `/api/v1/orgs/${orgId}`)).json().error.code).toBe('invalid_api_key');
        expect((await onSecond(b.key, `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
        // The creator lowered to viewer on the first instance: the key narrows on the second at once.
        expect(
          (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'viewer' })).statusCode,
        ).toBe(204);
        expect((await onSecond(b.key, `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(403);
        expect((await onSecond(b.key, `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
        // Raised again, then removed: each takes effect on the second instance's next call.
        expect(
          (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'admin' })).statusCode,
        ).toBe(204);
        expect((await onSecond(b.key, `/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
        expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${admin.id}`)).statusCode).toBe(204);
        expect((await onSecond(b.key, `/api/v1/orgs/${orgId}`)).json().error.code).toBe('invalid_api_key');
      } finally {
        await second.close();
      }
    },
  );

  it(
    '[O3] a member whose membership another instance keeps loses a lowered role, and the organization, on ' +
      'their very next request there',
    async () => {
      const second = await createTestApp({}, undefined, { db: t.db, sameDeploymentAs: t });
      second.clock.set(t.clock.now());
      try {
        const admin = await join(owner, orgId, 'admin');
        const onSecond = await helpers.signedIn(admin.email, second);
        for (let i = 0; i < 3; i++)
          expect((await onSecond.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).statusCode).toBe(200);
        expect(
          (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'viewer' })).statusCode,
        ).toBe(204);
        expect((await onSecond.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).statusCode).toBe(403);
        expect((await onSecond.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
        expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${admin.id}`)).statusCode).toBe(204);
        expect((await onSecond.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
      } finally {
        await second.close();
      }
    },
  );

  it("[O6] scopes can never exceed the creator's role, and keys cannot mint keys", async () => {
    const helpers = accounts(t);
    const adminEmail = await helpers.verified();
    const admin = await helpers.signedIn(adminEmail);
    await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: adminEmail, role: 'admin' });
    const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(
      (await t.mailTo(adminEmail, /invited/)).text,
    )!;
    await admin.api('POST', '/api/v1/invitations/accept', { org, token });
    expect(
      (
        await admin.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
          name: 'too wide',
          scopes: ['org.delete'],
          expiresInDays: 30,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await admin.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
          name: 'fine',
          scopes: ['members.read'],
          expiresInDays: 30,
        })
      ).statusCode,
    ).toBe(201);
    const { key } = await createKey(['api_keys.create', 'api_keys.read']);
    expect(
      (
        await withKey(key, 'POST', `/api/v1/orgs/${orgId}/api-keys`, {
          name: 'child',
          scopes: ['org.read'],
          expiresInDays: 1,
        })
      ).statusCode,
    ).toBe(403);
    expect((await withKey(key, 'GET', `/api/v1/orgs/${orgId}/api-keys`)).statusCode).toBe(200);
  });

  it('[O6] key calls are rate limited per key', async () => {
    const { key } = await createKey(['org.read']);
    let status = 200;
    let calls = 0;
    while (status !== 429 && calls < 100) {
      status = (await withKey(key, 'GET', `/api/v1/orgs/${orgId}`, undefined, '192.0.2.77')).statusCode;
      calls++;
    }
    expect(status).toBe(429);
    expect(calls).toBe(31);
  });

  it('[L1] creating and revoking keys are organization audit events', async () => {
    const actions = (
      await t.db.withTenant(orgId, (tx) => tx.selectFrom('audit_events').select('action').execute())
    ).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['api_key.created', 'api_key.revoked']));
  });
});

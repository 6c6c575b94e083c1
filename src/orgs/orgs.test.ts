import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { TestClient } from '../../test/helpers/client.js';
import { BLANKS } from '../../test/helpers/input.js';
import { verifyChain } from '../platform/audit/events.js';
import { SESSION_COOKIE } from '../sessions/http.js';
import { SESSION_EVENTS } from '../sessions/service.js';
import { INVITATION_LIFETIME_MS } from './service.js';

const t = await fileTestApp();
const helpers = accounts(t);
const { person, inviteLink, join } = orgPeople(t);

async function orgOf(owner: TestClient, name = 'Acme') {
  const res = await owner.api('POST', '/api/v1/orgs', { name });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

const orgEvents = async (orgId: string) =>
  (await t.db.withTenant(orgId, (tx) => tx.selectFrom('audit_events').select('action').orderBy('seq').execute())).map(
    (r) => r.action,
  );

describe('organizations (O1)', () => {
  it('[O1] the creator becomes owner; rename; list mine; switch the active organization', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    expect((await owner.client.api('PATCH', `/api/v1/orgs/${orgId}`, { name: 'Acme Inc' })).statusCode).toBe(204);
    expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/switch`)).statusCode).toBe(204);
    const list = (await owner.client.api('GET', '/api/v1/orgs')).json().orgs;
    expect(list).toEqual([expect.objectContaining({ id: orgId, name: 'Acme Inc', role: 'owner', active: true })]);
    expect(await orgEvents(orgId)).toEqual(['org.created', 'org.renamed']);
  });

  it('[O1] deleting needs the owner and the name typed again', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client, 'Doomed');
    const admin = await join(owner.client, orgId, 'admin');
    expect((await admin.client.api('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'Doomed' })).statusCode).toBe(403);
    const wrong = await owner.client.api('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'doomed' });
    expect(wrong.json().error.code).toBe('confirmation_mismatch');
    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'Doomed' })).statusCode).toBe(204);
    expect((await owner.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    expect(await orgEvents(orgId)).toContain('org.deleted'); // the history outlives the organization
  });

  it('[O1] an organization always keeps an owner; ownership can be transferred', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const me = (await owner.client.api('GET', '/api/v1/me')).json().user.id;
    expect(
      (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${me}`, { role: 'admin' })).json().error.code,
    ).toBe('last_owner');
    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${me}`)).json().error.code).toBe(
      'last_owner',
    );
    const next = await join(owner.client, orgId, 'member');
    expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/ownership`, { userId: next.id })).statusCode).toBe(
      204,
    );
    const roles = Object.fromEntries(
      (await next.client.api('GET', `/api/v1/orgs/${orgId}/members`))
        .json()
        .members.map((m: { email: string; role: string }) => [m.email, m.role]),
    );
    expect(roles).toEqual({ [owner.email]: 'admin', [next.email]: 'owner' });
    expect(await orgEvents(orgId)).toContain('org.ownership_transferred');
  });

  it('[O1] two owners leaving or demoting each other at the same moment leave one owner', async () => {
    for (let round = 0; round < 3; round++) {
      const first = await person();
      const orgId = await orgOf(first.client);
      const firstId = (await first.client.api('GET', '/api/v1/me')).json().user.id;
      const second = await join(first.client, orgId, 'owner');
      const [a, b] = await Promise.all(
        round === 0
          ? [
              first.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${second.id}`, { role: 'admin' }),
              second.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${firstId}`, { role: 'admin' }),
            ]
          : [
              first.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${firstId}`),
              second.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${second.id}`),
            ],
      );
      // One wins. The other finds the last owner (409), or, demoting, that it was demoted first and no
      // longer outranks its target (403): which, depends on whether its transaction had started.
      const loser = [a, b].find((r) => r.statusCode !== 204);
      expect([a, b].filter((r) => r.statusCode === 204)).toHaveLength(1);
      expect(loser!.json().error.code).toBe(round === 0 && loser!.statusCode === 403 ? 'forbidden' : 'last_owner');
      const owners = await t.db.withTenant(orgId, (tx) =>
        tx.selectFrom('memberships').select('user_id').where('role', '=', 'owner').execute(),
      );
      expect(owners).toHaveLength(1);
    }
  });
});

describe('organization names (R5)', () => {
  const nameOf = async (client: TestClient, orgId: string) =>
    (await client.api('GET', `/api/v1/orgs/${orgId}`)).json().name;

  it(
    '[R5] renaming an organization to "\\ufeff" (or another blank) is a 400 and the name stays; creating one ' +
      'with a blank name is a 400',
    async () => {
      const owner = await person();
      const orgId = await orgOf(owner.client, 'Named');
      for (const name of BLANKS) {
        const res = await owner.client.api('PATCH', `/api/v1/orgs/${orgId}`, { name });
        expect(res.statusCode, JSON.stringify(name)).toBe(400);
        expect(res.json().error).toMatchObject({
          code: 'invalid_request',
          fields: [{ field: 'name', message: 'is required' }],
        });
        expect((await owner.client.api('POST', '/api/v1/orgs', { name })).statusCode, JSON.stringify(name)).toBe(400);
        expect((await owner.client.form(`/orgs/${orgId}/rename`, { name })).statusCode, JSON.stringify(name)).toBe(400);
      }
      expect(await nameOf(owner.client, orgId)).toBe('Named');
      expect((await owner.client.api('GET', '/api/v1/orgs')).json().orgs).toHaveLength(1);
    },
  );

  it(
    '[R5] names are stored trimmed of Unicode spaces and the BOM; NUL and other control characters are ' + 'refused',
    async () => {
      const owner = await person();
      const orgId = await orgOf(owner.client, '\ufeff Acme\u3000');
      expect(await nameOf(owner.client, orgId)).toBe('Acme');
      for (const name of ['Ac\u0000me', 'Ac\nme', 'Acme\u009b']) {
        const res = await owner.client.api('PATCH', `/api/v1/orgs/${orgId}`, { name });
        expect(res.statusCode, JSON.stringify(name)).toBe(400);
        expect(res.json().error.fields).toEqual([{ field: 'name', message: 'must not contain control characters' }]);
      }
      expect(await nameOf(owner.client, orgId)).toBe('Acme');
    },
  );
});

describe('an organization deleted while it is in use (R6)', () => {
  it(
    '[R6] requests racing the deletion of their organization answer 404 or succeed, never 500 (no ' + 'deadlock)',
    async () => {
      const owner = await person();
      for (let round = 0; round < 4; round++) {
        const orgId = await orgOf(owner.client, 'Doomed');
        const csrf = await owner.client.csrf();
        const send = (method: string, url: string, payload?: object) =>
          owner.client.request({ method, url, payload, headers: { 'x-csrf-token': csrf } });
        const requests = Array.from({ length: 24 }, (_, i) => {
          if (i === 8 || i === 16) return send('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'Doomed' });
          if (i % 4 === 0) return send('PATCH', `/api/v1/orgs/${orgId}`, { name: 'Doomed' });
          if (i % 4 === 1) return send('GET', `/api/v1/orgs/${orgId}`);
          if (i % 4 === 2)
            return send('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'viewer' });
          return send('POST', `/api/v1/orgs/${orgId}/api-keys`, { name: 'k', scopes: ['org.read'], expiresInDays: 1 });
        });
        const statuses = (await Promise.all(requests)).map((r) => r.statusCode);
        expect(
          statuses.filter((s) => s >= 500),
          `round ${round}: ${statuses.join(' ')}`,
        ).toEqual([]);
        expect((await owner.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
      }
    },
  );
});

describe('invitations (O3)', () => {
  it('[O3] an invitation is bound to its address, single use, and records who joined', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const invited = await person();
    const other = await person();
    await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, {
      email: invited.email.toUpperCase(),
      role: 'member',
    });
    const link = inviteLink((await t.mailTo(invited.email, /invited/)).text);
    const stolen = await other.client.api('POST', '/api/v1/invitations/accept', link);
    expect(stolen.json().error.code).toBe('invalid_link');
    expect((await invited.client.api('POST', '/api/v1/invitations/accept', link)).json()).toMatchObject({
      id: orgId,
      role: 'member',
    });
    expect((await invited.client.api('POST', '/api/v1/invitations/accept', link)).json().error.code).toBe(
      'invalid_link',
    );
    expect((await other.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    expect(await orgEvents(orgId)).toEqual(['org.created', 'member.invited', 'member.joined']);
  });

  it('[O3] accepting needs a verified address', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const email = freshEmail();
    await helpers.signUp(email);
    const { client } = await helpers.signIn(email);
    await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email, role: 'viewer' });
    const res = await client.api(
      'POST',
      '/api/v1/invitations/accept',
      inviteLink((await t.mailTo(email, /invited/)).text),
    );
    expect(res.statusCode).toBe(403);
  });

  it('[O3] invitations expire after 7 days; revoked and replaced ones stop working', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const late = await person();
    await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: late.email, role: 'member' });
    const lateLink = inviteLink((await t.mailTo(late.email, /invited/)).text);
    t.clock.advance(INVITATION_LIFETIME_MS + 1);
    try {
      expect((await late.client.api('POST', '/api/v1/invitations/accept', lateLink)).json().error.code).toBe(
        'invalid_link',
      );
    } finally {
      t.clock.advance(-(INVITATION_LIFETIME_MS + 1));
    }

    const revoked = await person();
    const { id } = (
      await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: revoked.email, role: 'member' })
    ).json();
    const revokedLink = inviteLink((await t.mailTo(revoked.email, /invited/)).text);
    expect(
      (await owner.client.api('GET', `/api/v1/orgs/${orgId}/invitations`))
        .json()
        .invitations.map((i: { id: string }) => i.id),
    ).toContain(id);
    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}/invitations/${id}`)).statusCode).toBe(204);
    expect((await revoked.client.api('POST', '/api/v1/invitations/accept', revokedLink)).json().error.code).toBe(
      'invalid_link',
    );

    const resent = await person();
    const first = (
      await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: resent.email, role: 'member' })
    ).json();
    const oldLink = inviteLink((await t.mailTo(resent.email, /invited/)).text);
    expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations/${first.id}/resend`)).statusCode).toBe(
      201,
    );
    // Mail goes out after the response: wait for the second one.
    let newLink = oldLink;
    for (let i = 0; i < 100 && newLink.token === oldLink.token; i++) {
      const fresh = (await t.mailbox.list(500))
        .filter((m) => m.to === resent.email && /invited/.test(m.subject))
        .map((m) => inviteLink(m.text));
      newLink = fresh.find((l) => l.token !== oldLink.token) ?? oldLink;
      if (newLink.token === oldLink.token) await new Promise((r) => setTimeout(r, 20));
    }
    expect(newLink.token).not.toBe(oldLink.token);
    expect((await resent.client.api('POST', '/api/v1/invitations/accept', oldLink)).json().error.code).toBe(
      'invalid_link',
    );
    expect((await resent.client.api('POST', '/api/v1/invitations/accept', newLink)).statusCode).toBe(200);
  });

  it('[O1] an inviter cannot give a role above their own', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const admin = await join(owner.client, orgId, 'admin');
    const res = await admin.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, {
      email: freshEmail(),
      role: 'owner',
    });
    expect(res.statusCode).toBe(403);
    expect(
      (await admin.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'admin' }))
        .statusCode,
    ).toBe(201);
    const member = await join(owner.client, orgId, 'member');
    expect(
      (await member.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'viewer' }))
        .statusCode,
    ).toBe(403);
  });
});

describe('changes take effect on the next request (O3)', () => {
  it("[O3] a lowered role and a removal are in force on the member's very next request", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const admin = await join(owner.client, orgId, 'admin');
    expect((await admin.client.api('PATCH', `/api/v1/orgs/${orgId}`, { name: 'Renamed by admin' })).statusCode).toBe(
      204,
    );
    expect(
      (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'viewer' })).statusCode,
    ).toBe(204);
    const refused = await admin.client.api('PATCH', `/api/v1/orgs/${orgId}`, { name: 'Again' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('forbidden');
    expect((await admin.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${admin.id}`)).statusCode).toBe(204);
    expect((await admin.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    expect(await orgEvents(orgId)).toEqual(expect.arrayContaining(['member.role_changed', 'member.removed']));
    expect(await t.db.withTenant(orgId, (tx) => verifyChain(tx, `org:${orgId}`))).toMatchObject({ ok: true });
  });

  it("[S2] joining an organization rotates the new member's session id on their next request", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const invitee = await person();
    expect(
      (await owner.client.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: invitee.email, role: 'member' }))
        .statusCode,
    ).toBe(201);
    const link = inviteLink((await t.mailTo(invitee.email, /invited/)).text);
    const before = invitee.client.cookies.get('__Host-rampart_session')!;
    expect((await invitee.client.api('POST', '/api/v1/invitations/accept', link)).statusCode).toBe(200);
    expect((await invitee.client.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
    expect(invitee.client.cookies.get('__Host-rampart_session')).not.toBe(before);
  });

  it(
    "[S2] a role change rotates the member's session id on their next request; the old id works only for a " +
      '10-second grace',
    async () => {
      const owner = await person();
      const orgId = await orgOf(owner.client);
      const member = await join(owner.client, orgId, 'member');
      const before = member.client.cookies.get('__Host-rampart_session')!;
      const stale = new TestClient(t.app);
      stale.cookies.set('__Host-rampart_session', before);

      // Setting the same role again is no change: nothing rotates
      expect(
        (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'member' })).statusCode,
      ).toBe(204);
      await member.client.api('GET', '/api/v1/me');
      expect(member.client.cookies.get('__Host-rampart_session')).toBe(before);

      expect(
        (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'admin' })).statusCode,
      ).toBe(204);
      const next = await member.client.request({ url: '/api/v1/me' });
      expect(next.statusCode).toBe(200);
      const after = member.client.cookies.get('__Host-rampart_session')!;
      expect(after).not.toBe(before);
      // A request already in flight with the old id still works (and rotates nothing), for 10 seconds only
      const inFlight = await stale.request({ url: '/api/v1/me' });
      expect(inFlight.statusCode).toBe(200);
      expect(inFlight.headers['set-cookie']).toBeUndefined();
      t.clock.advance(11_000);
      expect((await stale.request({ url: '/api/v1/me' })).statusCode).toBe(401);
      expect((await member.client.request({ url: '/api/v1/me' })).statusCode).toBe(200);
      expect(member.client.cookies.get('__Host-rampart_session')).toBe(after);

      // A handover rotates both people's sessions
      const ownerBefore = owner.client.cookies.get('__Host-rampart_session');
      expect(
        (await owner.client.api('POST', `/api/v1/orgs/${orgId}/ownership`, { userId: member.id })).statusCode,
      ).toBe(204);
      await owner.client.request({ url: '/api/v1/me' });
      await member.client.request({ url: '/api/v1/me' });
      expect(owner.client.cookies.get('__Host-rampart_session')).not.toBe(ownerBefore);
      expect(member.client.cookies.get('__Host-rampart_session')).not.toBe(after);
    },
  );

  it('[O1] an admin cannot change or remove an owner', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const admin = await join(owner.client, orgId, 'admin');
    const ownerId = (await owner.client.api('GET', '/api/v1/me')).json().user.id;
    expect(
      (await admin.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${ownerId}`, { role: 'viewer' })).statusCode,
    ).toBe(403);
    expect((await admin.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${ownerId}`)).statusCode).toBe(403);
    // leaving is allowed
    expect((await admin.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${admin.id}`)).statusCode).toBe(204);
  });
});

describe('a privilege change and the rotation of the sessions it concerns commit together (O3, S2)', () => {
  /** Whether each unrevoked session of a person is marked to rotate on its next request. */
  const rotationMarks = async (userId: string) =>
    (
      await t.db.withSystem((tx) =>
        tx
          .selectFrom('sessions')
          .select('rotate_due')
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .execute(),
      )
    ).map((r) => r.rotate_due);
  const roleOf = async (orgId: string, userId: string) =>
    (
      await t.db.withTenant(orgId, (tx) =>
        tx
          .selectFrom('memberships')
          .select('role')
          .where('org_id', '=', orgId)
          .where('user_id', '=', userId)
          .executeTakeFirst(),
      )
    )?.role;

  /**
   * A trigger that makes the database refuse one kind of row write (a real failure inside the transaction); returns
   * its removal.
   */
  async function refuse(table: 'audit_events' | 'sessions', when: string): Promise<() => Promise<void>> {
    const name = `test_refuse_${randomUUID().replace(/-/g, '')}`;
    await sql
      .raw(
        `create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected ` +
          `failure'; end $$`,
      )
      .execute(t.db.owner);
    await sql
      .raw(
        `create trigger ${name} before insert or update on ${table} for each row when (${when}) execute ` +
          `function ${name}()`,
      )
      .execute(t.db.owner);
    return async () => {
      await sql.raw(`drop trigger ${name} on ${table}`).execute(t.db.owner);
      await sql.raw(`drop function ${name}()`).execute(t.db.owner);
    };
  }
  /**
   * The audit event of `action` in this organization fails: the last statement of the change's transaction, after the
   * role update and the mark.
   */
  const refuseAuditOf = (orgId: string, action: string) =>
    refuse('audit_events', `new.org_id = '${orgId}' and new.action = '${action}'`);

  /** Session invalidations broadcast to every instance while `during` runs (a marker message flushes the channel). */
  async function broadcastsDuring(during: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const marker = `test:${randomUUID()}`;
    let flushed!: () => void;
    const done = new Promise<void>((resolve) => {
      flushed = resolve;
    });
    const unsubscribe = await t.bus.subscribe(SESSION_EVENTS, (m) => (m === marker ? flushed() : seen.push(m)));
    try {
      await during();
      await t.bus.publish(SESSION_EVENTS, marker);
      await done;
    } finally {
      await unsubscribe();
    }
    return seen;
  }

  it("[O3] [S2] a role change and the rotation of the member's sessions commit together", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const member = await join(owner.client, orgId, 'member');
    const cookie = member.client.cookies.get(SESSION_COOKIE);

    // The transaction fails after the role update and the mark: neither is left, and nothing is broadcast.
    const restore = await refuseAuditOf(orgId, 'member.role_changed');
    let failed: Awaited<ReturnType<typeof owner.client.api>> | undefined;
    const lost = await broadcastsDuring(async () => {
      failed = await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'admin' });
    });
    await restore();
    expect(failed!.statusCode).toBe(500);
    expect(await roleOf(orgId, member.id)).toBe('member');
    expect(await rotationMarks(member.id)).toEqual([false]);
    expect(lost).not.toContain(`u:${member.id}`);
    expect(await orgEvents(orgId)).not.toContain('member.role_changed');
    await member.client.api('GET', '/api/v1/me');
    expect(member.client.cookies.get(SESSION_COOKIE)).toBe(cookie); // nothing rotated

    // The same change, succeeding: the new role and the mark commit together, then every instance is told.
    const told = await broadcastsDuring(async () => {
      expect(
        (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'admin' })).statusCode,
      ).toBe(204);
    });
    expect(await roleOf(orgId, member.id)).toBe('admin');
    expect(await rotationMarks(member.id)).toEqual([true]);
    expect(told).toContain(`u:${member.id}`);
    expect(await orgEvents(orgId)).toContain('member.role_changed');
    await member.client.api('GET', '/api/v1/me');
    expect(member.client.cookies.get(SESSION_COOKIE)).not.toBe(cookie);
    expect(await rotationMarks(member.id)).toEqual([false]);
  });

  it('[O3] [S2] when marking the sessions fails, the role change does not commit either', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const member = await join(owner.client, orgId, 'viewer');
    const restore = await refuse('sessions', `new.rotate_due and new.user_id = '${member.id}'`);
    const res = await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'admin' });
    await restore();
    expect(res.statusCode).toBe(500);
    expect(await roleOf(orgId, member.id)).toBe('viewer'); // no privilege change without its rotation
    expect(await rotationMarks(member.id)).toEqual([false]);
    expect(await orgEvents(orgId)).not.toContain('member.role_changed');
  });

  it('[O3] [S2] removing a member and marking their sessions commit together', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const member = await join(owner.client, orgId, 'admin');
    const restore = await refuseAuditOf(orgId, 'member.removed');
    const lost = await broadcastsDuring(async () => {
      expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${member.id}`)).statusCode).toBe(500);
    });
    await restore();
    expect(await roleOf(orgId, member.id)).toBe('admin');
    expect(await rotationMarks(member.id)).toEqual([false]);
    expect(lost).not.toContain(`u:${member.id}`);

    const told = await broadcastsDuring(async () => {
      expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}/members/${member.id}`)).statusCode).toBe(204);
    });
    expect(await roleOf(orgId, member.id)).toBeUndefined();
    expect(await rotationMarks(member.id)).toEqual([true]);
    expect(told).toContain(`u:${member.id}`);
  });

  it("[O3] [S2] an ownership transfer marks both people's sessions in its own transaction", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const ownerId = (await owner.client.api('GET', '/api/v1/me')).json().user.id as string;
    const next = await join(owner.client, orgId, 'member');
    const restore = await refuseAuditOf(orgId, 'org.ownership_transferred');
    const lost = await broadcastsDuring(async () => {
      expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/ownership`, { userId: next.id })).statusCode).toBe(
        500,
      );
    });
    await restore();
    expect([await roleOf(orgId, ownerId), await roleOf(orgId, next.id)]).toEqual(['owner', 'member']);
    expect([await rotationMarks(ownerId), await rotationMarks(next.id)]).toEqual([[false], [false]]);
    expect(lost.filter((m) => m === `u:${ownerId}` || m === `u:${next.id}`)).toEqual([]);

    const told = await broadcastsDuring(async () => {
      expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/ownership`, { userId: next.id })).statusCode).toBe(
        204,
      );
    });
    expect([await roleOf(orgId, ownerId), await roleOf(orgId, next.id)]).toEqual(['admin', 'owner']);
    expect([await rotationMarks(ownerId), await rotationMarks(next.id)]).toEqual([[true], [true]]);
    expect(told).toEqual(expect.arrayContaining([`u:${ownerId}`, `u:${next.id}`]));
  });

  it("[O3] [S2] deleting an organization marks every member's sessions in its own transaction", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client, 'Doomed');
    const ownerId = (await owner.client.api('GET', '/api/v1/me')).json().user.id as string;
    const member = await join(owner.client, orgId, 'viewer');
    const restore = await refuseAuditOf(orgId, 'org.deleted');
    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'Doomed' })).statusCode).toBe(500);
    await restore();
    expect(await roleOf(orgId, member.id)).toBe('viewer');
    expect([await rotationMarks(ownerId), await rotationMarks(member.id)]).toEqual([[false], [false]]);

    expect((await owner.client.api('DELETE', `/api/v1/orgs/${orgId}`, { confirmName: 'Doomed' })).statusCode).toBe(204);
    expect(await roleOf(orgId, member.id)).toBeUndefined();
    expect([await rotationMarks(ownerId), await rotationMarks(member.id)]).toEqual([[true], [true]]);
  });
});

describe('isolation in the database (O2)', () => {
  it("[O2] the person context sees only that person's memberships and organizations", async () => {
    const a = await person();
    const b = await person();
    const orgA = await orgOf(a.client, 'A');
    await orgOf(b.client, 'B');
    const aId = (await a.client.api('GET', '/api/v1/me')).json().user.id;
    const seen = await t.db.withPerson(aId, async (tx) => ({
      orgs: (await sql<{ id: string }>`select id from organizations`.execute(tx)).rows.map((r) => r.id),
      memberships: (await sql<{ org_id: string }>`select org_id from memberships`.execute(tx)).rows.map(
        (r) => r.org_id,
      ),
      invitations: (await sql`select * from invitations`.execute(tx)).rows,
    }));
    expect(seen).toEqual({ orgs: [orgA], memberships: [orgA], invitations: [] });
  });

  it('[O2] inside one organization, a query without any org filter returns only its rows', async () => {
    const a = await person();
    const b = await person();
    const orgA = await orgOf(a.client);
    const orgB = await orgOf(b.client);
    await a.client.api('POST', `/api/v1/orgs/${orgA}/invitations`, { email: freshEmail(), role: 'member' });
    await b.client.api('POST', `/api/v1/orgs/${orgB}/invitations`, { email: freshEmail(), role: 'member' });
    const rows = await t.db.withTenant(orgA, async (tx) => ({
      orgs: (await sql<{ id: string }>`select id from organizations`.execute(tx)).rows.map((r) => r.id),
      members: new Set(
        (await sql<{ org_id: string }>`select org_id from memberships`.execute(tx)).rows.map((r) => r.org_id),
      ),
      invitations: new Set(
        (await sql<{ org_id: string }>`select org_id from invitations`.execute(tx)).rows.map((r) => r.org_id),
      ),
    }));
    expect(rows).toEqual({ orgs: [orgA], members: new Set([orgA]), invitations: new Set([orgA]) });
  });
});

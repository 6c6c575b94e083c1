import { describe, expect, it } from 'vitest';
import { totpCode } from '../src/mfa/totp.js';
import { SESSION_COOKIE } from '../src/sessions/http.js';
import { accounts, PASSWORD } from './helpers/accounts.js';
import { fileTestApp } from './helpers/app.js';
import type { TestClient } from './helpers/client.js';
import { orgPeople } from './helpers/orgs.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';

/*
 * L1 for the session and MFA state changes that had no audit event of their own: each one records
 * its event, in the user's own stream, in the transaction that makes the change. Payloads carry no
 * secret.
 */

const t = await fileTestApp();
const helpers = accounts(t);
const { person, join } = orgPeople(t);

interface Event {
  seq: string;
  action: string;
  target: string | null;
  request_id: string | null;
  payload: unknown;
}
const eventsOf = (userId: string, action?: string): Promise<Event[]> =>
  t.db.withSystem((tx) => {
    let q = tx
      .selectFrom('audit_events')
      .select(['seq', 'action', 'target', 'request_id', 'payload'])
      .where('stream', '=', `user:${userId}`);
    if (action) q = q.where('action', '=', action);
    return q.orderBy('seq').execute();
  });

async function me(client: TestClient): Promise<{ userId: string; sessionId: string }> {
  const body = (await client.api('GET', '/api/v1/me')).json();
  return { userId: body.user.id, sessionId: body.session.id };
}

/** A signed-in account that turned the authenticator app on through the API (its session is now two-factor). */
async function withTotp() {
  const client = await helpers.signedIn(await helpers.verified());
  const { secret } = (await client.api('POST', '/api/v1/account/totp')).json();
  const confirmed = await client.api('POST', '/api/v1/account/totp/confirm', { code: totpCode(secret, t.clock.now()) });
  expect(confirmed.statusCode).toBe(200);
  t.clock.advance(30_000); // past the step the enrollment code used
  return { client, secret: secret as string, ...(await me(client)) };
}

describe('session events (L1, S2)', () => {
  it(
    '[L1] [S2] a step-up records user.session_rotated (step_up, with the new auth level) in the transaction ' +
      'of the step-up itself',
    async () => {
      const client = await helpers.signedIn(await helpers.verified());
      const { userId, sessionId } = await me(client);
      const refused = await client.api('POST', '/api/v1/account/step-up', { factor: 'password', secret: 'not it' });
      expect(refused.statusCode).toBe(401);
      expect(await eventsOf(userId, 'user.session_rotated')).toEqual([]);

      const before = client.cookies.get(SESSION_COOKIE);
      expect(
        (await client.api('POST', '/api/v1/account/step-up', { factor: 'password', secret: PASSWORD })).statusCode,
      ).toBe(200);
      expect(client.cookies.get(SESSION_COOKIE)).not.toBe(before);
      const events = await eventsOf(userId);
      const rotated = events.filter((e) => e.action === 'user.session_rotated');
      expect(rotated).toEqual([
        expect.objectContaining({ target: `session:${sessionId}`, payload: { reason: 'step_up', authLevel: 1 } }),
      ]);
      // Right after the step-up's own event, from the same request: one transaction.
      const stepped = events.findIndex((e) => e.action === 'user.stepped_up');
      expect(events[stepped + 1]).toEqual(rotated[0]);
      expect(rotated[0]!.request_id).toBe(events[stepped]!.request_id);
    },
  );

  it(
    '[L1] [S2] [O3] the rotation a role change leaves due records user.session_rotated (privilege_change) ' +
      'once, when it happens',
    async () => {
      const owner = await person();
      const orgId = (await owner.client.api('POST', '/api/v1/orgs', { name: 'Acme' })).json().id as string;
      const member = await join(owner.client, orgId, 'viewer');
      const { sessionId } = await me(member.client);
      const rotated = expect.objectContaining({
        target: `session:${sessionId}`,
        payload: { reason: 'privilege_change' },
      });
      // Joining is a privilege change too: the request after it rotated the session once.
      expect(await eventsOf(member.id, 'user.session_rotated')).toEqual([rotated]);
      expect(
        (await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${member.id}`, { role: 'member' })).statusCode,
      ).toBe(204);
      expect(await eventsOf(member.id, 'user.session_rotated')).toEqual([rotated]); // marked, not rotated yet
      const cookie = member.client.cookies.get(SESSION_COOKIE);
      await member.client.request({ url: '/api/v1/me' });
      expect(member.client.cookies.get(SESSION_COOKIE)).not.toBe(cookie);
      await member.client.request({ url: '/api/v1/me' });
      expect(await eventsOf(member.id, 'user.session_rotated')).toEqual([rotated, rotated]);
    },
  );

  it(
    '[L1] [O1] switching the active organization records user.org_switched; switching to the one already ' +
      'active records nothing',
    async () => {
      const owner = await person();
      const { userId, sessionId } = await me(owner.client);
      const orgId = (await owner.client.api('POST', '/api/v1/orgs', { name: 'Acme' })).json().id as string;
      expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/switch`)).statusCode).toBe(204);
      expect((await owner.client.api('POST', `/api/v1/orgs/${orgId}/switch`)).statusCode).toBe(204);
      expect(await eventsOf(userId, 'user.org_switched')).toEqual([
        expect.objectContaining({ target: `session:${sessionId}`, payload: { org: orgId } }),
      ]);
      // Leaving the active organization through the page clears it, and that is recorded too.
      const other = await join(owner.client, orgId, 'member');
      expect((await other.client.api('POST', `/api/v1/orgs/${orgId}/switch`)).statusCode).toBe(204);
      expect((await other.client.form(`/orgs/${orgId}/leave`, {})).statusCode).toBe(303);
      expect((await eventsOf(other.id, 'user.org_switched')).map((e) => e.payload)).toEqual([
        { org: orgId },
        { org: null },
      ]);
    },
  );
});

describe('MFA events (L1, A4, A5)', () => {
  it(
    '[L1] [A4] starting authenticator-app setup records mfa.totp_enrollment_started, without the secret; ' +
      'starting again says it replaced the unfinished one',
    async () => {
      const client = await helpers.signedIn(await helpers.verified());
      const { userId } = await me(client);
      const first = (await client.api('POST', '/api/v1/account/totp')).json().secret as string;
      const second = (await client.api('POST', '/api/v1/account/totp')).json().secret as string;
      expect(second).not.toBe(first);
      expect((await eventsOf(userId, 'mfa.totp_enrollment_started')).map((e) => e.payload)).toEqual([
        { replacedUnfinished: false },
        { replacedUnfinished: true },
      ]);
      // Confirming turns it on and rotates the session (S2), recorded with the second factor's own events.
      const { sessionId } = await me(client);
      expect(
        (await client.api('POST', '/api/v1/account/totp/confirm', { code: totpCode(second, t.clock.now()) }))
          .statusCode,
      ).toBe(200);
      const actions = (await eventsOf(userId)).map((e) => e.action);
      expect(actions.slice(-3)).toEqual(['mfa.totp_enabled', 'mfa.recovery_codes_generated', 'user.session_rotated']);
      expect((await eventsOf(userId, 'user.session_rotated')).at(-1)).toEqual(
        expect.objectContaining({
          target: `session:${sessionId}`,
          payload: { reason: 'second_factor_added', authLevel: 2 },
        }),
      );
      // Once it is on, another start is refused and records nothing.
      expect((await client.api('POST', '/api/v1/account/totp')).statusCode).toBe(409);
      expect(await eventsOf(userId, 'mfa.totp_enrollment_started')).toHaveLength(2);
      const everything = JSON.stringify(await eventsOf(userId));
      for (const secret of [first, second]) expect(everything).not.toContain(secret);
    },
  );

  it(
    '[L1] [A4] regenerating recovery codes records how many unused ones it replaced; turning off the last ' +
      'factor records that the codes went with it',
    async () => {
      const { client, userId } = await withTotp();
      expect((await client.api('POST', '/api/v1/account/recovery-codes')).statusCode).toBe(200);
      expect((await eventsOf(userId, 'mfa.recovery_codes_generated')).map((e) => e.payload)).toEqual([
        {},
        { replacedUnused: 10 },
      ]);
      expect((await client.api('DELETE', '/api/v1/account/totp')).statusCode).toBe(204);
      expect((await eventsOf(userId, 'mfa.totp_disabled')).map((e) => e.payload)).toEqual([
        { recoveryCodesRemoved: true },
      ]);
      const left = await t.db.withSystem((tx) =>
        tx.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).execute(),
      );
      expect(left).toEqual([]);
    },
  );

  it(
    '[L1] [A5] adding a passkey records user.session_rotated; removing one records whether recovery codes ' +
      'went with it',
    async () => {
      const client = await helpers.signedIn(await helpers.verified());
      const { userId, sessionId } = await me(client);
      const register = async (name: string) => {
        // One authenticator per passkey: each holds one credential.
        const authenticator = new SoftAuthenticator(
          new URL(t.config.baseUrl).origin,
          new URL(t.config.baseUrl).hostname,
        );
        const options = (await client.api('POST', '/api/v1/account/passkeys/options')).json();
        const added = await client.api('POST', '/api/v1/account/passkeys', {
          name,
          response: authenticator.register(options),
        });
        expect(added.statusCode).toBe(201);
        return added.json().id as string;
      };
      const one = await register('One');
      expect((await eventsOf(userId, 'user.session_rotated')).map((e) => [e.target, e.payload])).toEqual([
        [`session:${sessionId}`, { reason: 'second_factor_added', authLevel: 2 }],
      ]);
      const two = await register('Two');
      expect((await client.api('POST', '/api/v1/account/recovery-codes')).statusCode).toBe(200);
      expect((await client.api('DELETE', `/api/v1/account/passkeys/${one}`)).statusCode).toBe(204);
      expect((await client.api('DELETE', `/api/v1/account/passkeys/${two}`)).statusCode).toBe(204);
      expect((await eventsOf(userId, 'mfa.passkey_removed')).map((e) => e.payload)).toEqual([
        { name: 'One', recoveryCodesRemoved: false }, // another passkey still stands
        { name: 'Two', recoveryCodesRemoved: true }, // the last factor: its codes go with it
      ]);
    },
  );
});

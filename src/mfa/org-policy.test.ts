import { describe, expect, it } from 'vitest';
import { fileTestApp } from '../../test/helpers/app.js';
import { accounts } from '../../test/helpers/accounts.js';
import type { TestClient } from '../../test/helpers/client.js';
import { enrollTotp } from '../../test/helpers/mfa.js';
import { totpCode } from './totp.js';

const t = await fileTestApp();
const helpers = accounts(t);

async function invite(owner: TestClient, orgId: string, email: string, role = 'member'): Promise<TestClient> {
  expect((await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email, role })).statusCode).toBe(201);
  const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(
    (await t.mailTo(email, /invited/)).text,
  )!;
  const member = await helpers.signedIn(email);
  expect((await member.api('POST', '/api/v1/invitations/accept', { org, token })).statusCode).toBe(200);
  return member;
}

describe('organization MFA policy (A6)', () => {
  it(
    '[A6] an owner without a second factor cannot require one; with one, turning it on and off are org audit ' +
      'events',
    async () => {
      const owner = await helpers.signedIn(await helpers.verified());
      const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Policy' })).json().id;
      const refused = await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('own_mfa_missing');
      await enrollTotp(t, owner);
      expect((await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true })).statusCode).toBe(204);
      expect((await owner.api('GET', `/api/v1/orgs/${orgId}`)).json().requireMfa).toBe(true);
      expect((await owner.form(`/orgs/${orgId}/mfa-policy`, { required: 'false' })).headers.location).toBe(
        `/orgs/${orgId}?done=mfa_off`,
      );
      const events = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit`))
        .json()
        .events.map((e: { action: string }) => e.action);
      expect(events).toEqual(expect.arrayContaining(['org.mfa_required', 'org.mfa_not_required']));
    },
  );

  it('[A6] an admin may not change the policy', async () => {
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Admins' })).json().id;
    const admin = await invite(owner, orgId, await helpers.verified(), 'admin');
    await enrollTotp(t, admin);
    expect((await admin.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true })).json().error.code).toBe(
      'forbidden',
    );
  });

  it(
    '[A6] a member without MFA is sent to enrollment before reaching the organization; after enrolling, gets ' +
      'in; API keys are unaffected',
    async () => {
      const owner = await helpers.signedIn(await helpers.verified());
      const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Strict' })).json().id;
      const memberEmail = await helpers.verified();
      const member = await invite(owner, orgId, memberEmail);
      await enrollTotp(t, owner);
      const key = (
        await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
          name: 'ci',
          scopes: ['org.read', 'members.read'],
          expiresInDays: 30,
        })
      ).json().key;
      expect((await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true })).statusCode).toBe(204);

      // The member: every page and API of the organization sends them to set up a second factor
      const sent = await member.page(`/orgs/${orgId}/members`);
      expect(sent.statusCode).toBe(303);
      expect(sent.headers.location).toBe(
        `/account/two-factor/required?next=${encodeURIComponent(`/orgs/${orgId}/members`)}`,
      );
      const explained = await member.page(sent.headers.location as string);
      expect(explained.body).toContain(
        `href="/account/totp/setup?next=${encodeURIComponent(`/orgs/${orgId}/members`)}"`,
      );
      const api = await member.api('GET', `/api/v1/orgs/${orgId}/members`);
      expect(api.statusCode).toBe(403);
      expect(api.json().error.code).toBe('mfa_required');
      // Their own account pages still work, and the organization still lists in the switcher
      expect((await member.page('/account/security')).statusCode).toBe(200);
      expect((await member.api('GET', '/api/v1/orgs')).json().orgs.map((o: { id: string }) => o.id)).toContain(orgId);

      // An API key of the organization is not a person: unaffected
      const byKey = await t.app.inject({
        method: 'GET',
        url: `/api/v1/orgs/${orgId}/members`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(byKey.statusCode).toBe(200);

      // The access review shows who has MFA
      const review = (await owner.api('GET', `/api/v1/orgs/${orgId}/access-review`)).json();
      const mfaOf = (r: { members: Array<{ email: string; mfa: boolean }> }, email: string) =>
        r.members.find((m) => m.email === email)!.mfa;
      expect(mfaOf(review, memberEmail)).toBe(false);

      await enrollTotp(t, member);
      expect((await member.page(`/orgs/${orgId}/members`)).statusCode).toBe(200);
      expect(mfaOf((await owner.api('GET', `/api/v1/orgs/${orgId}/access-review`)).json(), memberEmail)).toBe(true);
    },
  );

  it('[A6] a member with a second factor whose session did not use it is asked to confirm with it', async () => {
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Older sessions' })).json().id;
    const memberEmail = await helpers.verified();
    const member = await invite(owner, orgId, memberEmail);
    const laptop = await helpers.signedIn(memberEmail); // signed in before the second factor existed
    const { secret } = await enrollTotp(t, member);
    await enrollTotp(t, owner);
    await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true });

    const sent = await laptop.page(`/orgs/${orgId}`);
    const explained = await laptop.page(sent.headers.location as string);
    expect(explained.body).toContain(`href="/account/step-up?next=${encodeURIComponent(`/orgs/${orgId}`)}"`);
    const up = await laptop.form(`/account/step-up?next=/orgs/${orgId}`, {
      factor: 'totp',
      secret: totpCode(secret, t.clock.now()),
    });
    expect(up.headers.location).toBe(`/orgs/${orgId}`);
    expect((await laptop.page(`/orgs/${orgId}`)).statusCode).toBe(200);
  });

  it('[A6] a member without MFA can still leave an organization that requires it', async () => {
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Leavable' })).json().id;
    const member = await invite(owner, orgId, await helpers.verified());
    await enrollTotp(t, owner);
    await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true });
    const me = (await member.api('GET', '/api/v1/me')).json().user.id;
    expect((await member.api('GET', `/api/v1/orgs/${orgId}`)).json().error.code).toBe('mfa_required');
    expect((await member.api('DELETE', `/api/v1/orgs/${orgId}/members/${me}`)).statusCode).toBe(204);
    expect((await member.api('GET', `/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
  });
});

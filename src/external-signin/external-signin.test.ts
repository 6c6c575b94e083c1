import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { TestClient } from '../../test/helpers/client.js';
import { enrollTotp } from '../../test/helpers/mfa.js';
import { removeTempDirs } from '../../test/helpers/process.js';
import {
  fetchTrusting,
  makeCertificate,
  startUpstream,
  type Upstream,
  type UpstreamPerson,
} from '../../test/helpers/upstream.js';
import { parseKeyring } from '../platform/crypto/keyring.js';
import { SESSION_COOKIE } from '../sessions/index.js';
import { createUpstreamRegistry } from './providers.js';

/*
 * A7 end to end: a second oidc-provider is the upstream, over real HTTPS on loopback (a certificate
 * made here, trusted by Rampart through openid-client's customFetch). The test plays the browser:
 * Rampart through inject, the upstream over HTTPS.
 */

let t: TestApp;
let upstream: Upstream;
let helpers: ReturnType<typeof accounts>;
const NAME = 'Upstream Test';

beforeAll(async () => {
  const certificate = makeCertificate();
  t = await createTestApp({}, undefined, { overrides: { upstreamFetch: fetchTrusting(certificate.cert) } });
  helpers = accounts(t);
  const base = t.config.baseUrl.replace(/\/$/, '');
  upstream = await startUpstream({ certificate, redirectUris: [`${base}/sign-in/external/up/callback`] });
  const registry = createUpstreamRegistry({
    db: t.db,
    keyring: parseKeyring(t.config.masterKeys!),
    clock: t.clock,
    dev: t.config.dev,
  });
  await registry.add({
    id: 'up',
    name: NAME,
    issuer: upstream.issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
  });
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  await t?.close();
  removeTempDirs();
});

const person = (over: Partial<UpstreamPerson> = {}): UpstreamPerson => ({
  sub: `sub-${randomBytes(8).toString('hex')}`,
  email: freshEmail(),
  email_verified: true,
  ...over,
});

/** Presses "Continue with …" (or a link button): where Rampart sends the browser. */
async function start(client: TestClient, action = '/sign-in/external/up'): Promise<string> {
  const res = await client.form(action, {});
  expect(res.statusCode, res.body).toBe(303);
  return res.headers.location as string;
}

/** Through the upstream as `who`, back to Rampart's callback: the URL it was sent back to. */
async function viaUpstream(client: TestClient, who: UpstreamPerson, tamper?: (url: URL) => void, action?: string) {
  upstream.signInAs(who);
  const authorization = new URL(await start(client, action));
  tamper?.(authorization);
  return upstream.browser().authorize(authorization.href);
}

const callback = (client: TestClient, back: URL) => client.page(`${back.pathname}${back.search}`);

async function signInUpstream(who: UpstreamPerson, client = new TestClient(t.app)) {
  const back = await viaUpstream(client, who);
  return { client, res: await callback(client, back), back };
}

const userByEmail = (email: string) =>
  t.db.withSystem((tx) =>
    tx
      .selectFrom('users')
      .select(['id', 'password_hash', 'email_verified_at'])
      .where('email', '=', email)
      .executeTakeFirst(),
  );
const linksOf = (userId: string) =>
  t.db.withSystem((tx) => tx.selectFrom('external_identities').selectAll().where('user_id', '=', userId).execute());
const actionsOf = async (userId: string) =>
  (
    await t.db.withSystem((tx) =>
      tx
        .selectFrom('audit_events')
        .select(['action', 'payload'])
        .where('stream', '=', `user:${userId}`)
        .orderBy('seq')
        .execute(),
    )
  ).map((e) => e.action);
const me = async (client: TestClient) => (await client.api('GET', '/api/v1/me')).json();

describe('[A7] sign-in through an upstream OpenID provider', () => {
  it("[A7] the sign-in page offers the provider, and its form-action allows the provider's site", async () => {
    const res = await new TestClient(t.app).page('/signin');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`Continue with ${NAME}`);
    expect(res.body).toContain('action="/sign-in/external/up"');
    expect(String(res.headers['content-security-policy'])).toContain(`form-action 'self' ${upstream.issuer}`);
  });

  it('[A7] a new person with a verified upstream address gets a verified account without a password', async () => {
    const who = person();
    const { client, res } = await signInUpstream(who);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/account/security');
    expect(client.cookies.get(SESSION_COOKIE)).toBeTruthy();
    const user = (await userByEmail(who.email!))!;
    expect(user.password_hash).toBeNull();
    expect(user.email_verified_at).not.toBeNull();
    expect((await me(client)).user).toMatchObject({ id: user.id, email: who.email, emailVerified: true });
    const [link] = await linksOf(user.id);
    expect(link).toMatchObject({ issuer: upstream.issuer, subject: who.sub, provider_id: 'up' });
    expect(await actionsOf(user.id)).toEqual(['user.signed_up', 'external.identity_linked', 'user.signed_in']);
    const session = await t.db.withSystem((tx) =>
      tx
        .selectFrom('sessions')
        .select(['method', 'auth_level'])
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow(),
    );
    expect(session).toEqual({ method: 'external', auth_level: 1 });
    const page = await client.page('/account/security');
    expect(page.body).toContain('Linked sign-in accounts');
    expect(page.body).toContain(`<td>${NAME}</td><td>${who.email}</td>`);
    expect(page.body).not.toContain(`Link ${NAME}`);

    // The subject is (issuer, sub): the upstream may change the address, it is still the same account.
    const again = await signInUpstream({ ...who, email: freshEmail() });
    expect(again.res.statusCode).toBe(303);
    expect((await me(again.client)).user.id).toBe(user.id);
  });

  it('[A7] an unverified upstream address makes no account', async () => {
    for (const who of [person({ email_verified: false }), person({ email_verified: undefined })]) {
      const { client, res } = await signInUpstream(who);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('no verified e-mail address');
      expect(client.cookies.get(SESSION_COOKIE)).toBeUndefined();
      expect(await userByEmail(who.email!)).toBeUndefined();
    }
  });

  it('[A7] the address of an existing account that is not linked: not linked, not signed in, told how', async () => {
    const email = await helpers.verified();
    const owner = (await userByEmail(email))!;
    const { client, res } = await signInUpstream(person({ email }));
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain('Sign in with your password (or another way) first');
    expect(client.cookies.get(SESSION_COOKIE)).toBeUndefined();
    expect((await client.page('/account/security')).statusCode).toBe(303);
    expect(await linksOf(owner.id)).toEqual([]);
    expect(await actionsOf(owner.id)).toContain('external.sign_in_refused');
  });

  it('[A7] linking after the person proves the account, then signing in through the upstream', async () => {
    const email = await helpers.verified();
    const owner = (await userByEmail(email))!;
    const browser = await helpers.signedIn(email);
    const page = await browser.page('/account/security');
    expect(page.body).toContain(`Link ${NAME}`);
    expect(String(page.headers['content-security-policy'])).toContain(upstream.issuer);

    // The upstream account may have another address: the person proved both, so the link is made.
    const who = person();
    const back = await viaUpstream(browser, who, undefined, '/account/external/up/link');
    const done = await callback(browser, back);
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/account/security?done=linked');
    const listed = await browser.page('/account/security?done=linked');
    expect(listed.body).toContain('The account is linked.');
    expect(listed.body).toContain(`<td>${NAME}</td><td>${who.email}</td>`);
    expect(await linksOf(owner.id)).toHaveLength(1);
    expect(await actionsOf(owner.id)).toContain('external.identity_linked');
    expect(await userByEmail(who.email!)).toBeUndefined();

    const later = await signInUpstream(who);
    expect(later.res.statusCode).toBe(303);
    expect((await me(later.client)).user.id).toBe(owner.id);

    // The same upstream account cannot be linked to a second account.
    const other = await helpers.signedIn(await helpers.verified());
    const stolen = await callback(other, await viaUpstream(other, who, undefined, '/account/external/up/link'));
    expect(stolen.statusCode).toBe(409);
    expect(stolen.body).toContain('already linked to another account');
  });

  it('[A7] linking needs a recent sign-in (step-up)', async () => {
    const browser = await helpers.signedIn(await helpers.verified());
    t.clock.advance(11 * 60 * 1000);
    const res = await browser.form('/account/external/up/link', {});
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/account\/step-up/);
  });

  it('[A7] a forged state, or the right state in another browser, is refused; the flow still works', async () => {
    const who = person();
    const client = new TestClient(t.app);
    const back = await viaUpstream(client, who);

    const forged = new URL(back);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const res = await callback(client, forged);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('started in another browser');

    const elsewhere = await callback(new TestClient(t.app), back);
    expect(elsewhere.statusCode).toBe(400);
    expect(await userByEmail(who.email!)).toBeUndefined();

    const ok = await callback(client, back);
    expect(ok.statusCode).toBe(303);
    expect(await userByEmail(who.email!)).toBeDefined();
  });

  it('[A7] an ID token carrying another nonce is refused', async () => {
    const who = person();
    const client = new TestClient(t.app);
    // The upstream answers for the nonce it was asked for: here one Rampart never issued.
    const back = await viaUpstream(client, who, (url) => url.searchParams.set('nonce', 'not-the-nonce-rampart-sent'));
    const res = await callback(client, back);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('did not confirm who you are');
    expect(client.cookies.get(SESSION_COOKIE)).toBeUndefined();
    expect(await userByEmail(who.email!)).toBeUndefined();
    const failures = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('payload').where('action', '=', 'external.sign_in_failed').execute(),
    );
    // openid-client's own check: the nonce claim compared with the one this flow sent.
    expect(failures.map((f) => f.payload)).toContainEqual({
      provider: 'up',
      reason: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
    });
    expect(t.logs()).toContain('unexpected ID Token \\"nonce\\" claim value');
  });

  it('[A7] a replayed callback (same code and state) is refused', async () => {
    const who = person();
    const { client, res, back } = await signInUpstream(who);
    expect(res.statusCode).toBe(303);
    const replay = await callback(client, back);
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('already used');
    const user = (await userByEmail(who.email!))!;
    const sessions = await t.db.withSystem((tx) =>
      tx.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute(),
    );
    expect(sessions).toHaveLength(1);
  });

  it('[A7] a flow older than ten minutes is refused', async () => {
    const who = person();
    const client = new TestClient(t.app);
    const back = await viaUpstream(client, who);
    t.clock.advance(10 * 60 * 1000 + 1000);
    expect((await callback(client, back)).statusCode).toBe(400);
    expect(await userByEmail(who.email!)).toBeUndefined();
  });

  it('[A7] an unreachable provider: the sign-in page still shows, its button says so (no 500)', async () => {
    const registry = createUpstreamRegistry({
      db: t.db,
      keyring: parseKeyring(t.config.masterKeys!),
      clock: t.clock,
      dev: t.config.dev,
    });
    await registry.add({ id: 'down', name: 'Down', issuer: 'https://127.0.0.1:1', clientId: 'c', clientSecret: 's' });
    try {
      const client = new TestClient(t.app);
      const page = await client.page('/signin');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Continue with Down');
      const res = await client.form('/sign-in/external/down', {});
      expect(res.statusCode).toBe(502);
      expect(res.body).toContain('could not be reached');
      const unknown = await client.form('/sign-in/external/nope', {});
      expect(unknown.statusCode).toBe(404);
    } finally {
      await registry.remove('down');
    }
  });

  it('[A7] a linked account with a second factor still asks for it', async () => {
    const email = await helpers.verified();
    const browser = await helpers.signedIn(email);
    await enrollTotp(t, browser);
    const who = person();
    const linked = await callback(browser, await viaUpstream(browser, who, undefined, '/account/external/up/link'));
    expect(linked.statusCode).toBe(303);
    const { client, res } = await signInUpstream(who);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/signin/second-factor');
    expect((await client.page('/account/security')).statusCode).toBe(303);
  });

  it("[A7] [A6] an organization's two-factor rule holds for a member signed in through the upstream", async () => {
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Strict upstream' })).json().id;
    await enrollTotp(t, owner);
    expect((await owner.api('PUT', `/api/v1/orgs/${orgId}/mfa-policy`, { required: true })).statusCode).toBe(204);
    const who = person();
    expect(
      (await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: who.email, role: 'member' })).statusCode,
    ).toBe(201);
    const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(
      (await t.mailTo(who.email!, /invited/)).text,
    )!;
    const { client: member } = await signInUpstream(who);
    expect((await member.api('POST', '/api/v1/invitations/accept', { org, token })).statusCode).toBe(200);
    const api = await member.api('GET', `/api/v1/orgs/${orgId}/members`);
    expect(api.statusCode).toBe(403);
    expect(api.json().error.code).toBe('mfa_required');
  });

  it('[A7] the account page removes a link (step-up), never the last way in of a passwordless account', async () => {
    // An account with a password: its link can go.
    const email = await helpers.verified();
    const owner = (await userByEmail(email))!;
    const browser = await helpers.signedIn(email);
    await callback(browser, await viaUpstream(browser, person(), undefined, '/account/external/up/link'));
    const [link] = await linksOf(owner.id);

    const stranger = await helpers.signedIn(await helpers.verified());
    const notTheirs = await stranger.form(`/account/external/${link!.id}/remove`, {});
    expect(notTheirs.statusCode).toBe(404);

    t.clock.advance(11 * 60 * 1000);
    const stale = await browser.form(`/account/external/${link!.id}/remove`, {});
    expect(stale.statusCode).toBe(303);
    expect(stale.headers.location).toMatch(/^\/account\/step-up/);
    const fresh = await helpers.signedIn(email);
    const removed = await fresh.form(`/account/external/${link!.id}/remove`, {});
    expect(removed.statusCode).toBe(303);
    expect(removed.headers.location).toBe('/account/security?done=linked_removed');
    expect(await linksOf(owner.id)).toEqual([]);
    expect(await actionsOf(owner.id)).toContain('external.identity_unlinked');
    expect((await fresh.page('/account/security?done=linked_removed')).body).toContain(`Link ${NAME}`);

    // An account made through the upstream has no password: its only link stays.
    const who = person();
    const made = await signInUpstream(who);
    const user = (await userByEmail(who.email!))!;
    const [only] = await linksOf(user.id);
    const refused = await made.client.form(`/account/external/${only!.id}/remove`, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('only way your account signs in');
    expect(await linksOf(user.id)).toHaveLength(1);
  });
});

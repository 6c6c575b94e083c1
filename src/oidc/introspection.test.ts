import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import * as rp from '../../test/helpers/oidc-rp.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { freePort } from '../../test/helpers/process.js';
import { systemClock } from '../platform/clock.js';
import { createAccessTokens } from './access-tokens.js';
import { createClientRegistry } from './clients.js';
import { TOKEN_MAX } from './introspection.js';

/*
 * A10, S3, O3: introspection (RFC 7662) and revocation (RFC 7009) of Rampart's JWT access tokens,
 * with openid-client as the product (a real relying party over HTTP) and Rampart's pages driven as
 * a browser would. Two instances share one database: what one revokes, the other reports. The
 * instances run on the test's movable clock, so a token's expiry is reached without waiting.
 */

let t: TestApp;
let t2: TestApp;
let issuer: string;
/** Where each instance listens; the issuer is their public URL (the test default), as behind a proxy. */
let first: string;
let second: string;
const REDIRECT = 'https://product.example/callback';
const secrets: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  t2 = await createTestApp({}, undefined, { db: t.db, sameDeploymentAs: t });
  issuer = t.config.baseUrl.replace(/\/$/, '');
  const [p1, p2] = [await freePort(), await freePort()];
  first = `http://127.0.0.1:${p1}`;
  second = `http://127.0.0.1:${p2}`;
  await t.app.listen({ port: p1, host: '127.0.0.1' });
  await t2.app.listen({ port: p2, host: '127.0.0.1' });
  const registry = createClientRegistry({ db: t.db, clock: systemClock, secretKey: Buffer.alloc(32), dev: true });
  for (const clientId of ['reports', 'billing']) {
    const { secret } = await registry.add({
      clientId,
      name: clientId,
      confidential: true,
      redirectUris: [REDIRECT],
      firstParty: true,
    });
    secrets[clientId] = secret!;
  }
  await registry.add({
    clientId: 'mobile',
    name: 'Mobile',
    confidential: false,
    redirectUris: [REDIRECT],
    firstParty: true,
  });
});
afterAll(async () => {
  await t2?.close();
  await t?.close();
});

/** The product `clientId` talking to one instance (`via`), authenticating with `secret` (its own by default). */
const product = (clientId = 'reports', via = first, secret = secrets[clientId]) =>
  oidc.discovery(
    new URL(issuer),
    clientId,
    secret ? { client_secret: secret } : { token_endpoint_auth_method: 'none' },
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
    {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: (url, init) => fetch(url.replace(issuer, via), init as RequestInit),
    },
  );

const at = () => ({ issuer, redirect: REDIRECT });
const tokensFor = (browser: TestClient, config: oidc.Configuration) => rp.tokensFor(browser, config, at());
const personWithOrg = (name?: string) => rp.personWithOrg(t, name);

const basic = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** A raw request to one of the two endpoints (what openid-client would not send). */
function post(path: 'introspection' | 'revocation', form: Record<string, string>, authorization?: string) {
  return t.app.inject({
    method: 'POST',
    url: `/oidc/token/${path}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
}

/** How openid-client reports a refusal: the OAuth error from the body or, on a 401, from WWW-Authenticate. */
async function refusal(call: Promise<unknown>) {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { status?: number; error?: string; cause?: unknown } | undefined;
  const challenge = Array.isArray(err?.cause) ? (err.cause[0] as { parameters?: { error?: string } }) : undefined;
  return { status: err?.status, error: err?.error ?? challenge?.parameters?.error };
}

const active = async (config: oidc.Configuration, token: string) =>
  (await oidc.tokenIntrospection(config, token)).active;

describe('introspection and revocation of JWT access tokens', () => {
  it('[A10] an active JWT access token introspects active, with the RFC 7662 fields', async () => {
    const { browser, orgId, userId } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const answer = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(answer).toMatchObject({
      active: true,
      client_id: 'reports',
      sub: userId,
      iss: issuer,
      aud: 'reports',
      token_type: 'Bearer',
      org_id: orgId,
      org_role: 'owner',
    });
    expect(answer.scope).toContain('openid');
    expect(typeof answer.jti).toBe('string');
    expect(answer.exp! - answer.iat!).toBe(15 * 60);
    // Refresh-token introspection is still the provider's.
    expect(await active(config, tokens.refresh_token!)).toBe(true);
  });

  it(
    '[A10] a JWT access token revoked by its client (RFC 7009) introspects inactive, ' + 'on the other instance too',
    async () => {
      const { browser } = await personWithOrg();
      const config = await product();
      const onSecond = await product('reports', second);
      const tokens = await tokensFor(browser, config);
      expect(await active(onSecond, tokens.access_token)).toBe(true);
      await oidc.tokenRevocation(config, tokens.access_token);
      expect(await active(config, tokens.access_token)).toBe(false);
      expect(await active(onSecond, tokens.access_token)).toBe(false);
      // Revoking it again, or revoking through the other instance, is fine (RFC 7009 §2.2).
      await oidc.tokenRevocation(onSecond, tokens.access_token);
      // Only that token: its grant goes on, and the next access token is active.
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(await active(config, refreshed.access_token)).toBe(true);
    },
  );

  it('[S3] a JWT access token introspects inactive at once after sign-out from Rampart', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    expect((await browser.api('POST', '/api/v1/signout')).statusCode).toBeLessThan(300);
    expect(await active(config, tokens.access_token)).toBe(false);
    expect(await active(await product('reports', second), tokens.access_token)).toBe(false);
  });

  it('[S3] revoking the Rampart session on the other instance makes its JWT inactive here', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const sessions = (await browser.api('GET', '/api/v1/sessions')).json();
    const current = (sessions.sessions ?? sessions).find((x: { current?: boolean }) => x.current);
    const there = new TestClient(t2.app); // the same browser, reaching the other instance
    for (const [name, value] of browser.cookies) there.cookies.set(name, value);
    const res = await there.api('DELETE', `/api/v1/sessions/${current.id}`);
    expect(res.statusCode).toBeLessThan(300);
    expect(await active(config, tokens.access_token)).toBe(false);
  });

  it('[S3] "sign out other sessions" and a password reset (A3) make the JWTs of those sessions inactive', async () => {
    const { browser, email } = await personWithOrg();
    const config = await product();
    const people = accounts(t);
    const laptop = await people.signedIn(email);
    const fromLaptop = await tokensFor(laptop, config);
    expect((await browser.api('POST', '/api/v1/sessions/revoke-others')).statusCode).toBe(200);
    expect(await active(config, fromLaptop.access_token)).toBe(false);

    const fromBrowser = await tokensFor(browser, config);
    expect(await active(config, fromBrowser.access_token)).toBe(true);
    const stranger = new TestClient(t.app);
    expect((await stranger.api('POST', '/api/v1/password-resets', { email })).statusCode).toBe(202);
    const { token } = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password');
    const reset = await stranger.api('POST', '/api/v1/password-resets/complete', {
      token,
      password: 'new quiet harbor lantern',
    });
    expect(reset.statusCode).toBe(200);
    expect(await active(config, fromBrowser.access_token)).toBe(false);
  });

  it('[A10] after refresh-token reuse is detected, the JWTs of the family introspect inactive', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await active(config, refreshed.access_token)).toBe(true);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect.poll(() => active(config, refreshed.access_token)).toBe(false);
    expect(await active(config, tokens.access_token)).toBe(false);
  });

  it('[A10] revoking the refresh token (RFC 7009) ends its grant: its JWTs introspect inactive', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect(await active(config, tokens.access_token)).toBe(false);
  });

  it('[O3] a removed member’s JWT introspects inactive; so does one claiming a role since lowered', async () => {
    const { browser: owner, orgId } = await personWithOrg('Roles');
    const { client: member, id: memberId } = await orgPeople(t).join(owner, orgId, 'admin');
    const config = await product();
    const tokens = await tokensFor(member, config);
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({
      active: true,
      org_role: 'admin',
    });
    expect(
      (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${memberId}`, { role: 'viewer' })).statusCode,
    ).toBeLessThan(300);
    expect(await active(config, tokens.access_token)).toBe(false); // it still says admin
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await oidc.tokenIntrospection(config, refreshed.access_token)).toMatchObject({
      active: true,
      org_role: 'viewer',
    });
    expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${memberId}`)).statusCode).toBeLessThan(300);
    expect(await active(config, refreshed.access_token)).toBe(false);
  });

  it('[A10] an expired JWT access token introspects inactive (Rampart’s clock)', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const { exp } = await oidc.tokenIntrospection(config, tokens.access_token);
    const now = t.clock.now();
    try {
      t.clock.set(new Date(exp! * 1000 - 1000));
      expect(await active(config, tokens.access_token)).toBe(true);
      t.clock.set(new Date(exp! * 1000));
      expect(await active(config, tokens.access_token)).toBe(false);
      // Its row is swept once it has expired (with a margin); the token stays inactive.
      t.clock.set(new Date(exp! * 1000 + 10 * 60 * 1000));
      expect(await createAccessTokens({ db: t.db, clock: t.clock }).sweep()).toBeGreaterThan(0);
      expect(await active(config, tokens.access_token)).toBe(false);
    } finally {
      t.clock.set(now);
    }
  });

  it('[A10] another client’s JWT introspects inactive and cannot be revoked by it', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const billing = await product('billing');
    expect(await oidc.tokenIntrospection(billing, tokens.access_token)).toEqual({ active: false });
    // Its refresh token: the same answer, from the provider.
    expect(await oidc.tokenIntrospection(billing, tokens.refresh_token!)).toEqual({ active: false });
    await expect(oidc.tokenRevocation(billing, tokens.access_token)).rejects.toMatchObject({
      error: 'invalid_request',
    });
    expect(await active(config, tokens.access_token)).toBe(true);
  });

  it('[A10] a wrong client secret answers 401 invalid_client; a secret in the body is no credential', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const wrong = await product('reports', first, 'not-the-secret');
    for (const call of [
      () => oidc.tokenIntrospection(wrong, tokens.access_token),
      () => oidc.tokenRevocation(wrong, tokens.access_token),
      () => oidc.tokenIntrospection(wrong, tokens.refresh_token!),
    ])
      expect(await refusal(call())).toEqual({ status: 401, error: 'invalid_client' });
    const res = await post('introspection', { token: tokens.access_token }, basic('reports', 'not-the-secret'));
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Basic');
    expect(res.headers['cache-control']).toBe('no-store');
    // client_secret_post is not a method the provider accepts: refused alike for a JWT and a refresh token.
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      const posted = await post('introspection', { token, client_id: 'reports', client_secret: secrets.reports! });
      expect(posted.statusCode).toBe(401);
      expect(posted.json().error).toBe('invalid_client');
    }
    // An unknown client, or the Basic header of a public one.
    for (const auth of [basic('nobody', 'x'), basic('mobile', 'x')]) {
      const refused = await post('introspection', { token: tokens.access_token }, auth);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error).toBe('invalid_client');
    }
    // Two client ids that disagree; a malformed header.
    const mismatch = await post(
      'introspection',
      { token: tokens.access_token, client_id: 'billing' },
      basic('reports', secrets.reports!),
    );
    expect(mismatch.json()).toMatchObject({ error: 'invalid_request', error_description: 'client_id mismatch' });
    expect((await post('introspection', { token: tokens.access_token }, 'Basic !!!')).statusCode).toBe(400);
    expect(await active(config, tokens.access_token)).toBe(true);
  });

  it('[A10] a public client may not introspect; it may revoke its own JWT', async () => {
    const { browser } = await personWithOrg();
    const mobile = await product('mobile');
    const tokens = await tokensFor(browser, mobile);
    expect(await refusal(oidc.tokenIntrospection(mobile, tokens.access_token))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    // The provider's answer for the refresh token of a public client is no more telling.
    expect(await oidc.tokenIntrospection(mobile, tokens.refresh_token!)).toEqual({ active: false });
    await oidc.tokenRevocation(mobile, tokens.access_token);
    const state = await t.db.withSystem((tx) =>
      tx.selectFrom('oidc_access_tokens').select('revoked_at').where('client_id', '=', 'mobile').execute(),
    );
    expect(state.some((r) => r.revoked_at !== null)).toBe(true);
  });

  it('[R5] a garbage or foreign token introspects inactive, never a 500', async () => {
    const auth = basic('reports', secrets.reports!);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const kid = (await exportJWK(publicKey)).kid ?? 'foreign';
    const now = Math.floor(Date.now() / 1000);
    const claims = { client_id: 'reports', sub: 'x', scope: 'openid', jti: 'abc' };
    const foreign = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(issuer)
      .setAudience('reports')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience('reports')
      .setExpirationTime(now + 600)
      .sign(new Uint8Array(32));
    const unsigned = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ ...claims, iss: issuer, aud: 'reports', exp: now + 600 }),
    ).toString('base64url')}.`;
    for (const token of [
      'garbage',
      'eyJhbGciOiJFUzI1NiJ9.x.y',
      'eyJ.e30.',
      foreign,
      hs,
      unsigned,
      '\u00e9'.repeat(20),
    ]) {
      const res = await post('introspection', { token }, auth);
      expect({ token, status: res.statusCode, body: res.json() }).toEqual({
        token,
        status: 200,
        body: { active: false },
      });
      expect((await post('revocation', { token }, auth)).statusCode).toBe(200);
    }
  });

  it('[R5] an oversize, missing or repeated token parameter gets a clear 400; an oversize body a 413', async () => {
    const auth = basic('reports', secrets.reports!);
    const long = await post('introspection', { token: 'a'.repeat(TOKEN_MAX + 1) }, auth);
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('token'),
    });
    expect(long.json().error_description).toContain(`at most ${TOKEN_MAX}`);
    const missing = await post('introspection', {}, auth);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toBe('invalid_request');
    const twice = await t.app.inject({
      method: 'POST',
      url: '/oidc/token/introspection',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      payload: 'token=a.b.c&token=d.e.f',
    });
    expect(twice.statusCode).toBe(400);
    const huge = await post('introspection', { token: 'x', filler: 'y'.repeat(60 * 1024) }, auth);
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
  });

  it('[A8] an address that keeps failing client authentication (introspection or token endpoint) waits', async () => {
    const attempt = (endpoint: string, secret = 'guess') =>
      fetch(`${second}/oidc/${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('reports', secret) },
        body: endpoint === 'token' ? 'grant_type=refresh_token&refresh_token=x' : 'token=eyJhbGciOiJFUzI1NiJ9.e30.x',
      });
    // One count for the endpoints where a secret is presented, whichever answered the 401.
    for (let i = 0; i < 15; i++) expect((await attempt('token/introspection')).status).toBe(401);
    for (let i = 0; i < 15; i++) expect((await attempt('token')).status).toBe(401);
    await expect.poll(async () => (await attempt('token')).status).toBe(429);
    const refused = await attempt('token', secrets.reports);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await attempt('token/introspection')).status).toBe(429);
  });
});

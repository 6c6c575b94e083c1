import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as rp from '../../test/helpers/oidc-rp.js';
import { totpSecretOn } from '../../test/helpers/mfa.js';
import { totpCode } from '../mfa/totp.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { freePort } from '../../test/helpers/process.js';
import { systemClock } from '../platform/clock.js';
import { createClientRegistry } from './clients.js';
import { parseKeyring } from '../platform/crypto/keyring.js';
import { createSigningKeys } from './signing-keys.js';
import { createServer, type Server } from 'node:http';
import { createBackchannelLogoutHandler, type LogoutEvent } from '../../packages/node/src/index.js';

/*
 * A10, S3, O3 end to end: openid-client is the product (a real relying party over HTTP), Rampart's
 * pages are driven as a browser would (TestClient keeps the cookies), the tokens are checked with
 * jose against the published JWKS.
 */

let t: TestApp;
let issuer: string;
/** Where the app listens; the issuer is its public URL (the test default), as behind a proxy. */
let listening: string;
const toServer = (url: string) => url.replace(issuer, listening);
const serverFetch = (url: string, init: oidc.CustomFetchOptions) => fetch(toServer(url), init as RequestInit);
const REDIRECT = 'https://product.example/callback';
const SIGNED_OUT = 'https://product.example/signed-out';
let secret: string;
let bclSecret: string;
/** A product's back-channel logout endpoint on loopback, verifying with the SDK what Rampart sends. */
let receiver: Server;
const logouts: LogoutEvent[] = [];

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({}, undefined, { realTime: true, overrides: { oidcMaintenanceEveryMs: 200 } });
  issuer = t.config.baseUrl.replace(/\/$/, '');
  listening = `http://127.0.0.1:${port}`;
  await t.app.listen({ port, host: '127.0.0.1' });
  const registry = createClientRegistry({ db: t.db, clock: systemClock, secretKey: Buffer.alloc(32), dev: true });
  secret = (
    await registry.add({
      clientId: 'analytics',
      name: 'Analytics',
      confidential: true,
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [SIGNED_OUT],
      firstParty: true,
    })
  ).secret!;
  const bclPort = await freePort();
  bclSecret = (
    await registry.add({
      clientId: 'withlogout',
      name: 'Product With Logout',
      confidential: true,
      redirectUris: [REDIRECT],
      backchannelLogoutUri: `http://127.0.0.1:${bclPort}/backchannel-logout`,
      firstParty: true,
    })
  ).secret!;
  const handle = createBackchannelLogoutHandler({
    issuer,
    clientId: 'withlogout',
    jwks: `${issuer}/oidc/jwks`,
    fetch: (url, init) => fetch(toServer(String(url)), init),
    onLogout: (event) => {
      logouts.push(event);
    },
  });
  receiver = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const out = await handle(body);
    res.writeHead(out.status, out.headers).end(out.body === '' ? '' : JSON.stringify(out.body));
  });
  await new Promise<void>((r) => receiver.listen(bclPort, '127.0.0.1', r));
  await registry.add({
    clientId: 'thirdparty',
    name: 'Third Party Reports',
    confidential: false,
    redirectUris: [REDIRECT],
    firstParty: false,
  });
});
afterAll(async () => {
  receiver?.close();
  await t?.close();
});

const product = (clientId = 'analytics') => {
  const clientSecret = { analytics: secret, withlogout: bclSecret }[clientId];
  return oidc.discovery(
    new URL(issuer),
    clientId,
    clientSecret ? { client_secret: clientSecret } : { token_endpoint_auth_method: 'none' },
    clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: serverFetch },
  );
};

const at = () => ({ issuer, redirect: REDIRECT });
const browse = (browser: TestClient, url: string) => rp.browse(browser, url, at());
const signInToProduct = (browser: TestClient, config: oidc.Configuration, extra: Record<string, string> = {}) =>
  rp.signInToProduct(browser, config, at(), extra);
const tokensFor = (browser: TestClient, config: oidc.Configuration) => rp.tokensFor(browser, config, at());
const personWithOrg = (name?: string) => rp.personWithOrg(t, name);
const { next } = rp;

const jwks = () => createRemoteJWKSet(new URL(`${listening}/oidc/jwks`));

describe('Rampart as an OpenID provider', () => {
  it('[A10] discovery publishes code flow with S256 PKCE only, ES256 and the JWKS', async () => {
    const d = await (
      await serverFetch(`${issuer}/.well-known/openid-configuration`, {} as oidc.CustomFetchOptions)
    ).json();
    expect(d.issuer).toBe(issuer);
    expect(d.response_types_supported).toEqual(['code']);
    expect(d.code_challenge_methods_supported).toEqual(['S256']);
    expect(d.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(d.jwks_uri).toBe(`${issuer}/oidc/jwks`);
    const keys = (await (await serverFetch(d.jwks_uri, {} as oidc.CustomFetchOptions)).json()).keys;
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.d).toBeUndefined(); // public halves only
  });

  it('[A10] code + PKCE through Rampart sign-in: a 15-minute ES256 JWT with org, role, permissions, amr', async () => {
    const { browser, orgId, userId, email } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks(), {
      issuer,
      audience: 'analytics',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
    expect(payload).toMatchObject({
      sub: userId,
      org_id: orgId,
      org_role: 'owner',
      amr: ['pwd'],
      client_id: 'analytics',
    });
    expect(payload.permissions).toContain('members.read');
    const id = tokens.claims()!;
    expect(id).toMatchObject({ sub: userId, email, email_verified: true, org_id: orgId, org_role: 'owner' });
    expect(id).toMatchObject({ amr: ['pwd'], acr: 'urn:rampart:acr:pwd', auth_time: expect.any(Number) });
    expect(tokens.refresh_token).toBeDefined();
  });

  it('[A10] [S3] userinfo answers for a live JWT access token, and refuses it once its session ended', async () => {
    const { browser, orgId, userId, email } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, userId);
    expect(info).toMatchObject({ sub: userId, email, email_verified: true, org_id: orgId, org_role: 'owner' });
    expect(info.permissions).toContain('members.read');
    const bare = await fetch(`${listening}/oidc/me`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // S3: the token of an ended session says nothing more, though its signature still verifies.
    expect((await browser.api('POST', '/api/v1/signout')).statusCode).toBeLessThan(300);
    const after = await fetch(`${listening}/oidc/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('[A10] an authorization request without PKCE, or with another redirect URI, is refused', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const noPkce = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 'x' });
    const a = await browser.page(noPkce.pathname + noPkce.search);
    expect(String(a.headers.location)).toContain('error=invalid_request');
    const wrong = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://evil.example/callback',
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const b = await browser.page(wrong.pathname + wrong.search);
    expect(b.statusCode).toBe(400);
    expect(b.headers.location).toBeUndefined(); // never sent to an unregistered address
    expect(b.body).toContain('This sign-in cannot continue');
    expect(b.headers['x-frame-options']).toBe('DENY');
  });

  it('[A10] a wrong client secret is refused', async () => {
    const { browser } = await personWithOrg();
    const good = await product();
    const s = await signInToProduct(browser, good);
    const bad = await oidc.discovery(new URL(issuer), 'analytics', undefined, oidc.ClientSecretBasic('wrong'), {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: serverFetch,
    });
    const refused = await oidc
      .authorizationCodeGrant(bad, s.callback!, { pkceCodeVerifier: s.verifier, expectedState: s.state })
      .then(
        () => undefined,
        (err: { status?: number; cause?: unknown }) => err,
      );
    expect(refused).toMatchObject({ status: 401 });
    expect(JSON.stringify(refused?.cause)).toContain('invalid_client');
    // The code was not spent by the refused attempt: the real client still gets its tokens.
    const tokens = await oidc.authorizationCodeGrant(good, s.callback!, {
      pkceCodeVerifier: s.verifier,
      expectedState: s.state,
      expectedNonce: s.nonce,
    });
    expect(tokens.access_token).toBeDefined();
  });

  it('[S3] refresh tokens rotate; a spent one presented again revokes the family and ends the session', async () => {
    const { browser, email } = await personWithOrg();
    const config = await product();
    const first = await tokensFor(browser, config);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await expect(oidc.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // The family is gone: the newest refresh token is refused too.
    await expect(oidc.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect.poll(async () => (await browser.api('GET', '/api/v1/me')).statusCode).toBe(401);
    const mail = await t.mailTo(email, /signed you out of an app/);
    expect(mail.text).toContain('analytics');
  });

  it('[A10] an authorization code used twice is refused and revokes what it issued', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const s = await signInToProduct(browser, config);
    const checks = { pkceCodeVerifier: s.verifier, expectedState: s.state, expectedNonce: s.nonce };
    const tokens = await oidc.authorizationCodeGrant(config, s.callback!, checks);
    await expect(oidc.authorizationCodeGrant(config, s.callback!, checks)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('[S3] revoking the Rampart session kills its refresh tokens', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    expect((await browser.api('POST', '/api/v1/signout')).statusCode).toBeLessThan(300);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('[S3] revoking the session on Rampart sends the product a signed back-channel logout token', async () => {
    const { browser, userId } = await personWithOrg();
    const config = await product('withlogout');
    const tokens = await tokensFor(browser, config);
    const sid = tokens.claims()!.sid as string;
    expect(sid).toBeDefined();
    const sessions = (await browser.api('GET', '/api/v1/sessions')).json();
    const current = (sessions.sessions ?? sessions).find((x: { current?: boolean }) => x.current);
    expect((await browser.api('DELETE', `/api/v1/sessions/${current.id}`)).statusCode).toBeLessThan(300);
    await expect.poll(() => logouts.find((l) => l.sid === sid), { timeout: 10_000 }).toMatchObject({ sub: userId });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('[A10] a rotated signing key is published, then signs, without a restart; old tokens still verify', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const before = await tokensFor(browser, config);
    const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;
    const keys = createSigningKeys({ db: t.db, keyring: parseKeyring(t.config.masterKeys!), clock: systemClock });
    const published = async () =>
      (
        (await (await serverFetch(`${issuer}/oidc/jwks`, {} as oidc.CustomFetchOptions)).json()).keys as {
          kid: string;
        }[]
      ).map((k) => k.kid);
    const later = await keys.rotate();
    await expect.poll(published, { timeout: 5000 }).toContain(later.kid); // published before it signs
    expect(kidOf((await oidc.refreshTokenGrant(config, before.refresh_token!)).access_token)).toBe(
      kidOf(before.access_token),
    );
    const now = await keys.rotate({ immediately: true });
    await expect
      .poll(async () => kidOf((await tokensFor(browser, config)).access_token), { timeout: 5000 })
      .toBe(now.kid);
    expect(await published()).toContain(kidOf(before.access_token)); // retired, still published
    await jwtVerify(before.access_token, jwks(), { issuer, audience: 'analytics' });
  });

  it('[A10] introspection and revocation (RFC 7662, 7009) of refresh tokens, for the confidential client', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: true });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: false });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('[S3] RP-initiated logout: a confirmation page, then the grant and the Rampart session end', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: SIGNED_OUT,
    });
    const page = await browser.page(url.pathname + url.search);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Yes, sign me out');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
    const done = await browser.request({
      method: 'POST',
      url: new URL(action, issuer).pathname,
      form: { xsrf, logout: 'yes' },
      headers: { origin: 'null' }, // a cross-site form post in the browser's eyes is fine here
    });
    expect(done.statusCode).toBe(303);
    expect(String(done.headers.location)).toBe(SIGNED_OUT);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect.poll(async () => (await browser.api('GET', '/api/v1/me')).statusCode).toBe(401);
  });

  it('[O3] a lowered role reaches the product with its next token; a removed member gets none', async () => {
    const { browser: owner, orgId } = await personWithOrg('Roles');
    const { client: member, id: memberId } = await orgPeople(t).join(owner, orgId, 'admin');
    const config = await product();
    const tokens = await tokensFor(member, config);
    const role = async (at: string) =>
      (await jwtVerify(at, jwks(), { issuer, audience: 'analytics' })).payload.org_role;
    expect(await role(tokens.access_token)).toBe('admin');

    expect(
      (await owner.api('PATCH', `/api/v1/orgs/${orgId}/members/${memberId}`, { role: 'viewer' })).statusCode,
    ).toBeLessThan(300);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(await role(refreshed.access_token)).toBe('viewer');

    expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${memberId}`)).statusCode).toBeLessThan(300);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('[O3] removing a member sends the products holding their tokens for that organization a logout', async () => {
    const { browser: owner, orgId } = await personWithOrg('Removal');
    const { client: member, id: memberId } = await orgPeople(t).join(owner, orgId, 'member');
    const config = await product('withlogout');
    const tokens = await tokensFor(member, config);
    const sid = tokens.claims()!.sid as string;
    expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/members/${memberId}`)).statusCode).toBeLessThan(300);
    await expect.poll(() => logouts.find((l) => l.sid === sid), { timeout: 10_000 }).toMatchObject({ sub: memberId });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Their Rampart session itself goes on (they are still signed in to Rampart).
    expect((await member.api('GET', '/api/v1/me')).statusCode).toBe(200);
  });

  it('[A10] a third-party product asks for consent; refusing sends access_denied back', async () => {
    const { browser } = await personWithOrg();
    const config = await product('thirdparty');
    const s = await signInToProduct(browser, config);
    expect(s.callback).toBeUndefined();
    expect(s.res.statusCode).toBe(200);
    expect(s.res.body).toContain('Third Party Reports');
    expect(s.res.body).toContain('is not run by this service');
    const uid = /action="\/oidc\/interaction\/([A-Za-z0-9_-]+)"/.exec(s.res.body)![1]!;
    const denied = await browser.form(`/oidc/interaction/${uid}`, { decision: 'deny' });
    const { callback } = await browse(browser, next(denied)!.replace(issuer, ''));
    expect(callback?.searchParams.get('error')).toBe('access_denied');
  });

  it('[A10] a person in two organizations picks one; the product can name one with org_id', async () => {
    const { browser, orgId } = await personWithOrg('First');
    const second = (await browser.api('POST', '/api/v1/orgs', { name: 'Second' })).json().id as string;
    const config = await product();
    const s = await signInToProduct(browser, config);
    expect(s.res.body).toContain('Which organization are you signing in for?');
    const uid = /action="\/oidc\/interaction\/([A-Za-z0-9_-]+)"/.exec(s.res.body)![1]!;
    const picked = await browser.form(`/oidc/interaction/${uid}`, { decision: 'allow', org_id: second });
    const { callback } = await browse(browser, next(picked)!.replace(issuer, ''));
    const tokens = await oidc.authorizationCodeGrant(config, callback!, {
      pkceCodeVerifier: s.verifier,
      expectedState: s.state,
      expectedNonce: s.nonce,
    });
    expect(tokens.claims()!.org_id).toBe(second);

    const hinted = await signInToProduct(browser, config, { org_id: orgId });
    expect(hinted.callback).toBeDefined();
  });

  it('[A10] acr_values asking for a second factor sends a one-factor session to confirm it first', async () => {
    const { browser } = await personWithOrg();
    const config = await product();
    const s = await signInToProduct(browser, config, { acr_values: 'urn:rampart:acr:mfa' });
    expect(s.callback).toBeUndefined();
    expect(s.res.body).toContain('Confirm with your second factor');
    expect(s.res.body).toContain('/account/totp/setup');
  });

  it('[A10] amr names the second factor: a one-time code gives pwd, otp, mfa and the two-factor acr', async () => {
    const { browser } = await personWithOrg();
    // This app runs on the real clock (the provider's own expiry checks read it).
    const setup = await browser.page('/account/totp/setup');
    const enrolled = await browser.form('/account/totp/setup', {
      code: totpCode(totpSecretOn(setup.body), new Date()),
    });
    expect(enrolled.statusCode).toBe(200);
    const config = await product();
    const tokens = await tokensFor(browser, config);
    const { payload } = await jwtVerify(tokens.access_token, jwks(), { issuer, audience: 'analytics' });
    expect(payload).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:rampart:acr:mfa' });
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:rampart:acr:mfa' });
  });
});

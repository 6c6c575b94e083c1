import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBackchannelLogoutHandler,
  createVerifier,
  fastify as guards,
  type RampartVerifier,
  rampartBackchannelLogout,
  rampartFastify,
  SessionRevocations,
} from '../src/index.js';
import { AUDIENCE, CLIENT_ID, accessToken, logoutToken, startIssuer, type TestIssuer } from './issuer.js';

let issuer: TestIssuer;
let verifier: RampartVerifier;
let app: FastifyInstance;
const revocations = new SessionRevocations();

beforeAll(async () => {
  issuer = await startIssuer();
  verifier = createVerifier({ issuer: issuer.url, audience: AUDIENCE, fetch: issuer.fetch });
  app = Fastify();
  await app.register(rampartFastify, { verifier, revocations });
  await app.register(rampartBackchannelLogout, {
    issuer: issuer.url,
    clientId: CLIENT_ID,
    verifier,
    onLogout: (event) => revocations.record(event),
  });
  app.get('/public', async (request) => ({ user: request.rampart?.userId ?? null }));
  app.get('/me', { preHandler: guards.requireAuth() }, async (request) => ({
    user: request.rampart!.userId,
    org: request.rampart!.orgId,
  }));
  app.get('/members', { preHandler: guards.requirePermission('members.read') }, async () => ({ ok: true }));
  app.delete('/org', { preHandler: guards.requirePermission('org.delete', 'members.read') }, async () => ({ ok: 1 }));
  app.post('/api-keys', { preHandler: guards.requireSecondFactor() }, async () => ({ created: true }));
  app.get(
    '/settings/security',
    { preHandler: guards.requireSecondFactor({ redirectTo: (req) => `/login?acr_values=mfa&next=${req.url}` }) },
    async () => 'secure page',
  );
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await issuer.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('rampartFastify', () => {
  it('[A10] a valid bearer token puts the identity on request.rampart', async () => {
    const token = await accessToken(issuer);
    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('[A10] a missing token is 401 token_missing with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
    const res = await app.inject({ url: '/me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toEqual({ error: { code: 'token_missing', message: expect.any(String) } });
  });

  it('[A10] a bad or expired token is 401 with error="invalid_token"', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      ['garbage', 'token_invalid'],
      [await accessToken(issuer, { aud: 'https://elsewhere.test' }), 'token_invalid'],
      [await accessToken(issuer, {}, { typ: 'JWT' }), 'token_invalid'],
      [await accessToken(issuer, { iat: now - 2000, exp: now - 1000 }), 'token_expired'],
    ];
    for (const [token, code] of cases) {
      const res = await app.inject({ url: '/me', headers: bearer(token) });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
      expect(res.json().error.code).toBe(code);
    }
  });

  it('[A10] public routes see null for no token and for a refused token', async () => {
    expect((await app.inject({ url: '/public' })).json()).toEqual({ user: null });
    expect((await app.inject({ url: '/public', headers: bearer('garbage') })).json()).toEqual({ user: null });
  });

  it('[A10] a non-Bearer Authorization header counts as no token', async () => {
    const res = await app.inject({ url: '/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.json().error.code).toBe('token_missing');
  });

  it('[O3] requirePermission lets a holder through and answers 403 insufficient_permission otherwise', async () => {
    const member = await accessToken(issuer, { permissions: ['members.read'] });
    expect((await app.inject({ url: '/members', headers: bearer(member) })).statusCode).toBe(200);
    const res = await app.inject({ method: 'DELETE', url: '/org', headers: bearer(member) });
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope"/);
    expect(res.json().error.code).toBe('insufficient_permission');
    const none = await accessToken(issuer, { permissions: undefined, org_id: undefined, org_role: undefined });
    expect((await app.inject({ url: '/members', headers: bearer(none) })).statusCode).toBe(403);
    expect((await app.inject({ url: '/members' })).statusCode).toBe(401);
  });

  it('[O3] requires every listed permission', async () => {
    const owner = await accessToken(issuer, { org_role: 'owner', permissions: ['org.delete', 'members.read'] });
    expect((await app.inject({ method: 'DELETE', url: '/org', headers: bearer(owner) })).statusCode).toBe(200);
  });

  it('[A2] a one-factor token on an API route gets the RFC 9470 step-up challenge', async () => {
    const res = await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(await accessToken(issuer)) });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A second authentication factor is ' +
        'required", acr_values="urn:rampart:acr:mfa"',
    );
    expect(res.json().error.code).toBe('second_factor_required');
  });

  it('[A2] a two-factor token passes (acr mfa, or amr holding mfa)', async () => {
    for (const claims of [
      { acr: 'urn:rampart:acr:mfa', amr: ['pwd', 'otp'] },
      { acr: undefined, amr: ['hwk', 'mfa'] },
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api-keys',
        headers: bearer(await accessToken(issuer, claims)),
      });
      expect(res.statusCode).toBe(200);
    }
  });

  it('[A2] an amr claiming factors without the mfa acr is not a second factor', async () => {
    const token = await accessToken(issuer, { acr: 'urn:rampart:acr:pwd', amr: ['pwd', 'otp'] });
    expect((await app.inject({ method: 'POST', url: '/api-keys', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('[A2] with redirectTo a browser route redirects a one-factor user instead', async () => {
    const res = await app.inject({ url: '/settings/security', headers: bearer(await accessToken(issuer)) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?acr_values=mfa&next=/settings/security');
    const mfa = await accessToken(issuer, { acr: 'urn:rampart:acr:mfa', amr: ['pwd', 'otp', 'mfa'] });
    expect((await app.inject({ url: '/settings/security', headers: bearer(mfa) })).statusCode).toBe(200);
  });

  it('[A10] getToken reads the token from elsewhere, e.g. a cookie', async () => {
    const cookieApp = Fastify();
    await cookieApp.register(rampartFastify, {
      verifier,
      getToken: (req) => /(?:^|;\s*)at=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? null,
    });
    cookieApp.get('/me', { preHandler: guards.requireAuth() }, async (req) => ({ user: req.rampart!.userId }));
    const token = await accessToken(issuer, { sub: '7d1c0f1e-8d4f-4a52-9a55-5f2a5b1d6a10' });
    const res = await cookieApp.inject({ url: '/me', headers: { cookie: `theme=dark; at=${token}` } });
    expect(res.json()).toEqual({ user: '7d1c0f1e-8d4f-4a52-9a55-5f2a5b1d6a10' });
    expect((await cookieApp.inject({ url: '/me', headers: bearer(token) })).statusCode).toBe(401);
    await cookieApp.close();
  });

  it('[A10] an unreachable JWKS is 503 jwks_unavailable, not a 401', async () => {
    const down = await startIssuer();
    down.jwksDown = true;
    const downApp = Fastify();
    await downApp.register(rampartFastify, {
      verifier: createVerifier({ issuer: down.url, audience: AUDIENCE, fetch: down.fetch }),
    });
    downApp.get('/me', { preHandler: guards.requireAuth() }, async () => 'never');
    const res = await downApp.inject({ url: '/me', headers: bearer(await accessToken(down)) });
    expect(res.statusCode).toBe(503);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.json().error.code).toBe('jwks_unavailable');
    await downApp.close();
    await down.close();
  });

  it('[S3] after a back-channel logout of its sid, a still-unexpired token is refused as session_revoked', async () => {
    const sid = crypto.randomUUID();
    const token = await accessToken(issuer, { sid });
    const other = await accessToken(issuer);
    expect((await app.inject({ url: '/me', headers: bearer(token) })).statusCode).toBe(200);

    const logout = await app.inject({
      method: 'POST',
      url: '/backchannel-logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `logout_token=${await logoutToken(issuer, { sid })}`,
    });
    expect(logout.statusCode).toBe(200);
    expect(logout.headers['cache-control']).toBe('no-store');

    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(res.json().error.code).toBe('session_revoked');
    expect((await app.inject({ url: '/me', headers: bearer(other) })).statusCode).toBe(200);
  });

  it('[S3] the back-channel route answers 400 invalid_request no-store to a bad logout token', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/backchannel-logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `logout_token=${await logoutToken(issuer, { nonce: 'abc' })}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('[A10] a guard without the plugin is a server error, never an open door', async () => {
    const bare = Fastify();
    bare.get('/me', { preHandler: guards.requireAuth() }, async () => 'open');
    expect((await bare.inject({ url: '/me' })).statusCode).toBe(500);
    await bare.close();
  });

  it('[S3] the logout plugin works beside an app-wide form parser; the route adapter takes a parsed body', async () => {
    const ended: string[] = [];
    const options = {
      issuer: issuer.url,
      clientId: CLIENT_ID,
      verifier,
      onLogout: ({ jti }: { jti: string }) => {
        ended.push(jti);
      },
    };
    const formApp = Fastify();
    await formApp.register(formbody);
    await formApp.register(rampartBackchannelLogout, { ...options, path: '/bcl' });
    formApp.post('/bcl-parsed', guards.backchannelLogoutRoute(createBackchannelLogoutHandler(options)));
    for (const url of ['/bcl', '/bcl-parsed']) {
      const res = await formApp.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ logout_token: await logoutToken(issuer) }).toString(),
      });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe('');
    }
    const json = await formApp.inject({ method: 'POST', url: '/bcl', payload: { logout_token: 'x' } });
    expect(json.statusCode).toBe(400);
    expect(ended).toHaveLength(2);
    await formApp.close();
  });
});

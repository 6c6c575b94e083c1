import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBackchannelLogoutHandler,
  createVerifier,
  express as guards,
  rampartExpress,
  SessionRevocations,
} from '../src/index.js';
import { AUDIENCE, CLIENT_ID, accessToken, logoutToken, startIssuer, type TestIssuer } from './issuer.js';

let issuer: TestIssuer;
let server: Server;
let base: string;
const revocations = new SessionRevocations();

async function listen(app: express.Express): Promise<{ server: Server; base: string }> {
  const s = await new Promise<Server>((resolve) => {
    const started = app.listen(0, '127.0.0.1', () => resolve(started));
  });
  return { server: s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  issuer = await startIssuer();
  const verifier = createVerifier({ issuer: issuer.url, audience: AUDIENCE, fetch: issuer.fetch });
  const logout = createBackchannelLogoutHandler({
    issuer: issuer.url,
    clientId: CLIENT_ID,
    verifier,
    onLogout: (event) => revocations.record(event),
  });
  const app = express();
  // The logout route reads its own form body; a second one sits behind express.urlencoded().
  app.post('/backchannel-logout', guards.backchannelLogoutHandler(logout));
  app.post(
    '/parsed/backchannel-logout',
    express.urlencoded({ extended: false }),
    guards.backchannelLogoutHandler(logout),
  );
  app.use(rampartExpress({ verifier, revocations }));
  app.get('/public', (req, res) => {
    res.json({ user: req.rampart?.userId ?? null });
  });
  app.get('/me', guards.requireAuth(), (req, res) => {
    res.json({ user: req.rampart!.userId, role: req.rampart!.role });
  });
  app.get('/members', guards.requirePermission('members.read'), (_req, res) => {
    res.json({ ok: true });
  });
  app.delete('/org', guards.requirePermission('org.delete'), (_req, res) => {
    res.json({ ok: true });
  });
  app.post('/api-keys', guards.requireSecondFactor(), (_req, res) => {
    res.json({ created: true });
  });
  app.get('/security', guards.requireSecondFactor({ redirectTo: () => '/login?step_up=1' }), (_req, res) => {
    res.send('secure');
  });
  ({ server, base } = await listen(app));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await issuer.close();
});

const get = (path: string, token?: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, {
    redirect: 'manual',
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });

describe('rampartExpress', () => {
  it('[A10] a valid token reaches the handler with req.rampart set', async () => {
    const res = await get('/me', await accessToken(issuer, { org_role: 'member' }));
    expect(res.status).toBe(200);
    expect((await res.json()).role).toBe('member');
  });

  it('[A10] missing, bad and expired tokens are 401 with the RFC 6750 challenge and a JSON error', async () => {
    const missing = await get('/me');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject({ error: { code: 'token_missing' } });

    const now = Math.floor(Date.now() / 1000);
    for (const [token, code] of [
      [await accessToken(issuer, { iss: 'https://evil.example.com' }), 'token_invalid'],
      [await accessToken(issuer, { iat: now - 2000, exp: now - 1000 }), 'token_expired'],
    ] as const) {
      const res = await get('/me', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect((await res.json()).error.code).toBe(code);
    }
  });

  it('[A10] a public route sees null', async () => {
    expect(await (await get('/public')).json()).toEqual({ user: null });
  });

  it('[O3] requirePermission: 200 for a holder, 403 insufficient_permission otherwise', async () => {
    const token = await accessToken(issuer);
    expect((await get('/members', token)).status).toBe(200);
    const res = await get('/org', token, { method: 'DELETE' });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe('insufficient_permission');
  });

  it('[A2] requireSecondFactor: step-up challenge for one factor, pass for two, redirect for browsers', async () => {
    const one = await accessToken(issuer);
    const res = await get('/api-keys', one, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_user_authentication", .*acr_values="urn:rampart:acr:mfa"$/,
    );
    expect((await res.json()).error.code).toBe('second_factor_required');

    const two = await accessToken(issuer, { acr: 'urn:rampart:acr:mfa', amr: ['pwd', 'hwk', 'mfa'] });
    expect((await get('/api-keys', two, { method: 'POST' })).status).toBe(200);

    const redirect = await get('/security', one);
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('location')).toBe('/login?step_up=1');
  });

  it('[A10] an unreachable JWKS is 503 jwks_unavailable', async () => {
    const down = await startIssuer();
    down.jwksDown = true;
    const app = express();
    app.use(rampartExpress({ verifier: createVerifier({ issuer: down.url, audience: AUDIENCE, fetch: down.fetch }) }));
    app.get('/me', guards.requireAuth(), (_req, res) => {
      res.send('never');
    });
    const started = await listen(app);
    try {
      const res = await fetch(`${started.base}/me`, {
        headers: { authorization: `Bearer ${await accessToken(down)}` },
      });
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe('jwks_unavailable');
    } finally {
      await new Promise((resolve) => started.server.close(resolve));
      await down.close();
    }
  });

  it('[S3] back-channel logout over HTTP ends the session; its tokens are then refused', async () => {
    for (const path of ['/backchannel-logout', '/parsed/backchannel-logout']) {
      const sid = crypto.randomUUID();
      const token = await accessToken(issuer, { sid });
      expect((await get('/me', token)).status).toBe(200);
      const logout = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: await logoutToken(issuer, { sid }) }),
      });
      expect(logout.status).toBe(200);
      expect(logout.headers.get('cache-control')).toBe('no-store');
      const res = await get('/me', token);
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('session_revoked');
    }
  });

  it('[S3] the back-channel route answers 400 invalid_request to a replay and to a token without events', async () => {
    const post = (token: string) =>
      fetch(`${base}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }),
      });
    const token = await logoutToken(issuer);
    expect((await post(token)).status).toBe(200);
    const replay = await post(token);
    expect(replay.status).toBe(400);
    expect(replay.headers.get('cache-control')).toBe('no-store');
    expect(await replay.json()).toMatchObject({ error: 'invalid_request' });
    expect((await post(await logoutToken(issuer, { events: undefined }))).status).toBe(400);
  });
});

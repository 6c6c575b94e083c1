import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackchannelLogoutHandler, type LogoutEvent } from '../../packages/node/src/index.js';
import { accounts } from '../../test/helpers/accounts.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { freePort } from '../../test/helpers/process.js';
import { systemClock } from '../platform/clock.js';
import { createOperatorTokens } from '../operator/index.js';
import { createClientRegistry } from './clients.js';

/*
 * A10 and S3 through the operator API: an operator token registers products over HTTP, the product
 * signs a person in with openid-client against the listening app, and back-channel logout tokens
 * go to real receivers on loopback (one failing, one verifying with the SDK).
 */

let t: TestApp;
let issuer: string;
let listening: string;
const toServer = (url: string) => url.replace(issuer, listening);
const serverFetch = (url: string, init: oidc.CustomFetchOptions) => fetch(toServer(url), init as RequestInit);
let token: string;
const REDIRECT = 'https://product.example/callback';

/** A receiver answering 500 to everything (and counting), and one verifying logout tokens with the SDK. */
let broken: Server;
let brokenHits = 0;
let working: Server;
let brokenUri: string;
let workingUri: string;
const logouts: LogoutEvent[] = [];

const listen = async (server: Server) => {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${port}/backchannel-logout`;
};

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({}, undefined, { realTime: true, overrides: { oidcBackchannelRetryBaseMs: 25 } });
  issuer = t.config.baseUrl.replace(/\/$/, '');
  listening = `http://127.0.0.1:${port}`;
  await t.app.listen({ port, host: '127.0.0.1' });
  token = (await createOperatorTokens({ db: t.db, clock: systemClock }).create('api-test')).token;
  broken = createServer((req, res) => {
    brokenHits++;
    req.resume();
    req.on('end', () => res.writeHead(500).end('no'));
  });
  brokenUri = await listen(broken);
  const handle = createBackchannelLogoutHandler({
    issuer,
    clientId: 'bcl-working',
    jwks: `${issuer}/oidc/jwks`,
    fetch: (url, init) => fetch(toServer(String(url)), init),
    onLogout: (event) => {
      logouts.push(event);
    },
  });
  working = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const out = await handle(body);
    res.writeHead(out.status, out.headers).end(out.body === '' ? '' : JSON.stringify(out.body));
  });
  workingUri = await listen(working);
});
afterAll(async () => {
  broken?.close();
  working?.close();
  await t?.close();
});

/** An operator call: bearer token, no cookie, no Origin, no CSRF token. */
const op = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: method as 'GET',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${token}`, ...headers },
    remoteAddress: '192.0.2.77',
  });

const addClient = (body: Record<string, unknown>) =>
  op('POST', '/api/v1/operator/clients', { redirectUris: [REDIRECT], firstParty: true, ...body });

async function signIn(browser: TestClient, clientId: string, secret: string) {
  const config = await oidc.discovery(
    new URL(issuer),
    clientId,
    { client_secret: secret },
    oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: serverFetch },
  );
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  let location = url.pathname + url.search;
  for (let i = 0; i < 10 && !location.startsWith(REDIRECT); i++) {
    const res = await browser.page(location);
    const next =
      res.statusCode >= 300 && res.statusCode < 400
        ? String(res.headers.location)
        : typeof res.headers.refresh === 'string'
          ? res.headers.refresh.replace(/^0; url=/, '')
          : undefined;
    expect(next, res.body).toBeDefined();
    const to = new URL(next!, issuer);
    location = next!.startsWith(REDIRECT) ? next! : to.pathname + to.search;
  }
  expect(location.startsWith(REDIRECT)).toBe(true);
  return oidc.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier: verifier, expectedState: state });
}

async function person() {
  const people = accounts(t);
  const browser = await people.signedIn(await people.verified());
  expect((await browser.api('POST', '/api/v1/orgs', { name: 'Operator Test Org' })).statusCode).toBe(201);
  return browser;
}

describe('the operator API for OpenID clients', () => {
  it('[A10] operator API adds a client that completes a code flow, lists, shows and removes it', async () => {
    const added = await addClient({ clientId: 'op-analytics', name: 'Operator Analytics' });
    expect(added.statusCode, added.body).toBe(201);
    const { client, clientSecret } = added.json();
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({ clientId: 'op-analytics', confidential: true, firstParty: true });

    // The CLI's registry sees what the API registered; the secret is nowhere to be seen again.
    const registry = createClientRegistry({ db: t.db, clock: systemClock, secretKey: Buffer.alloc(32), dev: true });
    expect(await registry.get('op-analytics')).toMatchObject({ name: 'Operator Analytics' });
    const listed = await op('GET', '/api/v1/operator/clients');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().clients.find((c: { clientId: string }) => c.clientId === 'op-analytics')).toMatchObject({
      backchannelFailed24h: 0,
    });
    const one = await op('GET', '/api/v1/operator/clients/op-analytics');
    expect(one.json()).toMatchObject({ client: { clientId: 'op-analytics' }, deliveries: [] });
    expect(listed.body + one.body).not.toContain(clientSecret);

    const tokens = await signIn(await person(), 'op-analytics', clientSecret);
    expect(tokens.access_token).toBeDefined();

    expect((await op('DELETE', '/api/v1/operator/clients/op-analytics')).statusCode).toBe(204);
    const gone = await op('GET', '/api/v1/operator/clients/op-analytics');
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('client_not_found');
    expect((await op('DELETE', '/api/v1/operator/clients/op-analytics')).json().error.code).toBe('client_not_found');
    // Its refresh token died with it.
    expect(await registry.get('op-analytics')).toBeUndefined();

    const events = await t.db.withSystem((tx) =>
      tx
        .selectFrom('audit_events')
        .select(['action', 'actor', 'ip'])
        .where('stream', '=', 'system')
        .where('target', '=', 'oidc_client:op-analytics')
        .orderBy('seq')
        .execute(),
    );
    expect(events).toEqual([
      { action: 'oidc.client_added', actor: 'operator:api-test', ip: '192.0.2.77' },
      { action: 'oidc.client_removed', actor: 'operator:api-test', ip: '192.0.2.77' },
    ]);
  });

  it('[A10] a public client gets no secret; a taken id is 409 client_exists', async () => {
    const pub = await addClient({ clientId: 'op-spa', name: 'SPA', confidential: false });
    expect(pub.statusCode).toBe(201);
    expect(pub.json().clientSecret).toBeUndefined();
    expect(pub.json().client.confidential).toBe(false);
    const again = await addClient({ clientId: 'op-spa', name: 'SPA again' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('client_exists');
  });

  it('[A10] invalid redirect URIs and client ids are 400 invalid_client_metadata, as in the CLI', async () => {
    const bad: Array<Record<string, unknown>> = [
      { redirectUris: ['not a url'] },
      { redirectUris: ['https://product.example/cb#fragment'] },
      { redirectUris: ['https://*.product.example/cb'] },
      { redirectUris: ['javascript:alert(1)'] },
      { redirectUris: [REDIRECT], postLogoutRedirectUris: ['ftp://product.example/out'] },
      { redirectUris: [REDIRECT], backchannelLogoutUri: 'data:text/plain,x' },
      { clientId: 'a b' },
      { clientId: 'x' },
    ];
    for (const body of bad) {
      const res = await addClient({ clientId: 'op-bad', name: 'Bad', ...body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code, JSON.stringify(body)).toBe('invalid_client_metadata');
    }
    expect((await op('GET', '/api/v1/operator/clients/op-bad')).statusCode).toBe(404);
  });

  it('[R5] oversize bodies, unknown fields, odd Unicode names: clear 4xx errors, never a 500', async () => {
    const huge = await addClient({
      clientId: 'op-huge',
      name: 'x',
      redirectUris: [`${REDIRECT}?${'a'.repeat(70_000)}`],
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('payload_too_large');
    const unknown = await addClient({ clientId: 'op-unknown', name: 'U', admin: true });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('invalid_request');
    const many = await addClient({ clientId: 'op-many', name: 'M', redirectUris: Array(21).fill(REDIRECT) });
    expect(many.json().error.code).toBe('invalid_request');
    const notJson = await op('POST', '/api/v1/operator/clients', '{"clientId":', {
      'content-type': 'application/json',
    });
    expect(notJson.json().error.code).toBe('invalid_json');

    const refused = ['nul\u0000byte', '\ud800lone', '\u200b\u200b', '   ', 'x'.repeat(101), 'bell\u0007'];
    for (const [i, name] of refused.entries()) {
      const res = await addClient({ clientId: `op-odd-${i}`, name });
      expect(res.statusCode, JSON.stringify(name)).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(res.json().error.fields?.[0]?.field).toMatch(/name/);
    }
    const accepted = ['Café Ünïcode', '日本語の製品', '🚀 Rocket', 'e\u0301 combined', '\u202eRTL override'];
    for (const [i, name] of accepted.entries()) {
      const res = await addClient({ clientId: `op-fine-${i}`, name });
      expect(res.statusCode, JSON.stringify(name)).toBe(201);
      expect(res.json().client.name).toBe(name.normalize('NFC'));
    }
    for (const method of ['GET', 'DELETE']) {
      const weirdId = await op(method, `/api/v1/operator/clients/${encodeURIComponent('../../etc\u0000')}`);
      expect(weirdId.statusCode).toBe(404);
      expect(weirdId.json().error.code).toBe('client_not_found');
    }
    const longId = await op('GET', `/api/v1/operator/clients/${'a'.repeat(65)}`);
    expect(longId.statusCode).toBe(400);
    expect(longId.json().error.code).toBe('invalid_request');
    // Past Fastify's parameter length: 414, still a 4xx.
    expect((await op('GET', `/api/v1/operator/clients/${'a'.repeat(200)}`)).statusCode).toBe(414);
  });

  it('[R1] a signed-in person cannot use the operator API, with or without a CSRF token', async () => {
    const browser = await person();
    const res = await browser.api('POST', '/api/v1/operator/clients', {
      clientId: 'op-by-cookie',
      name: 'By Cookie',
      redirectUris: [REDIRECT],
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('operator_unauthorized');
    expect((await browser.api('DELETE', '/api/v1/operator/clients/op-spa')).statusCode).toBe(401);
    expect((await op('GET', '/api/v1/operator/clients/op-spa')).statusCode).toBe(200);
  });

  it('[S3] back-channel logout: a receiver answering 500 shows as failed after 3 tries, a working one as delivered', {
    timeout: 60_000,
  }, async () => {
    const secrets: Record<string, string> = {};
    for (const [clientId, uri] of [
      ['bcl-broken', brokenUri],
      ['bcl-working', workingUri],
    ] as const) {
      const res = await addClient({ clientId, name: clientId, backchannelLogoutUri: uri });
      expect(res.statusCode, res.body).toBe(201);
      secrets[clientId] = res.json().clientSecret;
    }
    const browser = await person();
    const brokenTokens = await signIn(browser, 'bcl-broken', secrets['bcl-broken']!);
    const workingTokens = await signIn(browser, 'bcl-working', secrets['bcl-working']!);
    expect((await browser.api('POST', '/api/v1/signout')).statusCode).toBeLessThan(300);

    const deliveries = async (clientId: string) =>
      (await op('GET', `/api/v1/operator/clients/${clientId}`)).json().deliveries as Array<Record<string, unknown>>;
    await expect.poll(() => deliveries('bcl-working'), { timeout: 20_000 }).toHaveLength(1);
    expect((await deliveries('bcl-working'))[0]).toMatchObject({ delivered: true, attempts: 1, lastError: null });
    expect(logouts.map((l) => l.sid)).toContain(workingTokens.claims()!.sid);

    await expect.poll(() => deliveries('bcl-broken'), { timeout: 20_000 }).toHaveLength(1);
    const failed = (await deliveries('bcl-broken'))[0]!;
    expect(failed).toMatchObject({ delivered: false, attempts: 3 });
    expect(String(failed.lastError)).toMatch(/500 Internal Server Error/);
    expect(brokenHits).toBe(3);
    expect(brokenTokens.claims()!.sid).toBeDefined();

    const listed = (await op('GET', '/api/v1/operator/clients')).json().clients as Array<Record<string, unknown>>;
    expect(listed.find((c) => c.clientId === 'bcl-broken')).toMatchObject({ backchannelFailed24h: 1 });
    expect(listed.find((c) => c.clientId === 'bcl-working')).toMatchObject({ backchannelFailed24h: 0 });
    const warning = t
      .logs()
      .split('\n')
      .filter((l) => l.includes('back-channel logout failed'))
      .map((l) => JSON.parse(l));
    expect(warning).toEqual([expect.objectContaining({ level: 40, client: 'bcl-broken', attempts: 3 })]);
  });

  it('[A10] the operator routes are in the OpenAPI document with their schemas and bearer security', async () => {
    const doc = (await t.app.inject({ url: '/docs/openapi.json' })).json();
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    const clients = doc.paths['/api/v1/operator/clients'];
    expect(clients.post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['clientId', 'name', 'redirectUris']),
    );
    expect(clients.get.security).toEqual([{ operatorToken: [] }]);
    expect(doc.paths['/api/v1/operator/clients/{id}'].delete).toBeDefined();
  });
});

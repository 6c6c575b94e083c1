import * as oidc from 'openid-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../../test/helpers/client.js';
import * as rp from '../../test/helpers/oidc-rp.js';
import { freePort } from '../../test/helpers/process.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';
import { createClientRegistry } from '../oidc/clients.js';
import { systemClock } from '../platform/clock.js';

/*
 * A10, D1, O2: a product sends requests through an organization's connection on a signed-in person's
 * behalf, with the Rampart access token it holds. Only a live token with scope `connections`, for
 * the route's organization, from a person whose role allows it now, gets through.
 */

const server = await new TestProvider().start();
const { t } = await vaultTestApp(server);
const port = await freePort();
await t.app.listen({ port, host: '127.0.0.1' });
const via = `http://127.0.0.1:${port}`;
afterAll(async () => {
  await t.close();
  await server.close();
});

const issuer = t.config.baseUrl.replace(/\/$/, '');
const REDIRECT = 'https://product.example/callback';
const registry = createClientRegistry({ db: t.db, clock: systemClock, secretKey: Buffer.alloc(32), dev: true });
const { secret } = await registry.add({
  clientId: 'crm-sync',
  name: 'CRM sync',
  confidential: true,
  redirectUris: [REDIRECT],
  firstParty: true,
});
const config = await oidc.discovery(
  new URL(issuer),
  'crm-sync',
  { client_secret: secret! },
  oidc.ClientSecretBasic(secret!),
  {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: (url, init) => fetch(url.replace(issuer, via), init as RequestInit),
  },
);
const at = { issuer, redirect: REDIRECT };

await (await providerAdmin(t)).provider('crm', server);
const key = freshSecret();
server.accepted.add(key);

/** The product's access token for the person signed in on `browser`, with these scopes. */
async function tokenOf(browser: TestClient, scope: string): Promise<string> {
  const s = await rp.signInToProduct(browser, config, at, { scope });
  expect(s.callback, s.res.body).toBeDefined();
  const tokens = await oidc.authorizationCodeGrant(config, s.callback!, {
    pkceCodeVerifier: s.verifier,
    expectedState: s.state,
    expectedNonce: s.nonce,
  });
  return tokens.access_token;
}

const owner = await rp.personWithOrg(t, 'Tokens Inc');
const made = await owner.browser.api('POST', `/api/v1/orgs/${owner.orgId}/connections`, {
  providerId: 'crm',
  label: 'CRM',
  secret: key,
});
const connectionId = made.json().id as string;

const asProduct = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
const list = (token: string, orgId = owner.orgId) => asProduct(token, 'GET', `/api/v1/orgs/${orgId}/connections`);
const send = (token: string, orgId = owner.orgId) =>
  asProduct(token, 'POST', `/api/v1/orgs/${orgId}/connections/${connectionId}/requests`, {
    purpose: 'crm-sync.pull',
    method: 'GET',
    path: '/v1/me',
  });

describe("a product's access token on the connections routes", () => {
  it('[A10] [D1] a live token with scope connections lists connections and sends a request through one', async () => {
    const token = await tokenOf(owner.browser, 'openid email org connections');
    const listed = await list(token);
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().connections.map((c: { id: string }) => c.id)).toEqual([connectionId]);
    expect(listed.body).not.toContain(key);
    const sent = await send(token);
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().status).toBe(200);
    expect(sent.body).not.toContain(key);
  });

  it('[A10] a token without scope connections is refused (403 access_token_scope)', async () => {
    const token = await tokenOf(owner.browser, 'openid email org');
    for (const res of [await list(token), await send(token)]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('access_token_scope');
    }
  });

  it("[O2] a token for one organization cannot reach another's connections", async () => {
    const other = await rp.personWithOrg(t, 'Other Inc');
    const token = await tokenOf(other.browser, 'openid email org connections');
    const seen = server.seen.length;
    for (const res of [await list(token), await send(token)]) {
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('access_token_scope');
    }
    expect(server.seen.length).toBe(seen);
  });

  it('[A10] a made-up, tampered or ended token is refused (401 access_token_invalid)', async () => {
    const token = await tokenOf(owner.browser, 'openid email org connections');
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
    for (const bad of ['eyJhbGciOiJub25lIn0.e30.', tampered]) {
      const res = await list(bad);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('access_token_invalid');
    }
    // The person signs out of Rampart: the grant dies with the session, and the token with it.
    expect((await owner.browser.api('POST', '/api/v1/signout')).statusCode).toBe(204);
    const ended = await list(token);
    expect(ended.statusCode).toBe(401);
    expect(ended.json().error.code).toBe('access_token_invalid');
  });
});

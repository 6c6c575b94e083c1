import { afterAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';

/*
 * The product-facing proxy (L1, T3, O1): a request through a connection reaches only the provider's
 * hosts, carries the credential as the provider wants it, is one audit event, and never returns it.
 */

const server = await new TestProvider().start();
const { t, vault } = await vaultTestApp(server, { overrides: { vaultRequestsPerMinute: 30 } });
afterAll(async () => {
  await t.close();
  await server.close();
});
const helpers = accounts(t);
const people = orgPeople(t);
const admin = await providerAdmin(t);
await admin.provider('p-bearer', server);
await admin.provider('p-basic', server, { authStyle: 'basic' });
await admin.provider('p-header', server, { authStyle: 'header', authName: 'X-Api-Key' });
await admin.provider('p-query', server, { authStyle: 'query', authName: 'api_key' });

const owner = await helpers.signedIn(await helpers.verified());
const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Proxy Inc' })).json().id as string;
const base = `/api/v1/orgs/${orgId}/connections`;

async function connection(providerId: string, secret: Record<string, string>) {
  const res = await owner.api('POST', base, { providerId, label: `${providerId}-${Math.random()}`, ...secret });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

const send = (id: string, body: Record<string, unknown>, client = owner) =>
  client.api('POST', `${base}/${id}/requests`, { purpose: 'sync.contacts', method: 'GET', path: '/echo', ...body });

async function apiKey(scopes: string[]) {
  const res = await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
    name: scopes.join(' '),
    scopes,
    expiresInDays: 1,
  });
  return res.json().key as string;
}
const withKey = (key: string, id: string, body: Record<string, unknown> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `${base}/${id}/requests`,
    payload: { purpose: 'sync', method: 'GET', path: '/echo', ...body },
    headers: { authorization: `Bearer ${key}` },
    remoteAddress: '192.0.2.33',
  });

const usedEvents = async (id: string) =>
  (
    await t.db.owner
      .selectFrom('audit_events')
      .select(['payload', 'actor'])
      .where('org_id', '=', orgId)
      .where('action', '=', 'connection.used')
      .where('target', '=', `connection:${id}`)
      .orderBy('seq')
      .execute()
  ).map((e) => ({ ...(typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload), actor: e.actor }));

describe('requests through a connection (L1, T3)', () => {
  it('[D1] each auth style arrives at the provider as it expects, and never comes back', async () => {
    const key = freshSecret();
    const pair = { username: 'u1', password: freshSecret('pw_') };
    const cases: Array<[string, Record<string, string>, (h: Record<string, unknown>, url: string) => unknown]> = [
      ['p-bearer', { secret: key }, (h) => h.authorization === `Bearer ${key}`],
      ['p-basic', pair, (h) => h.authorization === `Basic ${Buffer.from(`u1:${pair.password}`).toString('base64')}`],
      ['p-header', { secret: key }, (h) => h['x-api-key'] === key && h.authorization === undefined],
      ['p-query', { secret: key }, (_h, url) => new URL(url, 'https://x').searchParams.get('api_key') === key],
    ];
    for (const [provider, secret, arrived] of cases) {
      const id = await connection(provider, secret);
      const before = server.seen.length;
      const res = await send(id, { query: { page: '2' }, headers: { 'x-trace': 'abc' } });
      expect(res.statusCode, provider).toBe(200);
      const seen = server.seen.slice(before).at(-1)!;
      expect(arrived(seen.headers, seen.url), provider).toBe(true);
      expect(seen.headers['x-trace']).toBe('abc');
      expect(new URL(seen.url, 'https://x').searchParams.get('page')).toBe('2');
      const out = res.json();
      expect(out.status).toBe(200);
      expect(out.headers['x-provider']).toBe('test');
      expect(out.headers['set-cookie']).toBeUndefined();
      expect(res.body).not.toContain(key);
      expect(res.body).not.toContain(pair.password);
      // The provider echoed the request; what it quoted of the credential is cut out.
      if (provider === 'p-query') expect(out.body).toContain('api_key=[redacted]');
    }
  });

  it('[L1] every use is audited: purpose, method, host, path without query, status; never the secret', async () => {
    const key = freshSecret();
    const id = await connection('p-query', { secret: key });
    await send(id, { method: 'POST', path: '/v2/items', query: { q: 'x' }, body: '{"a":1}' });
    const events = await usedEvents(id);
    expect(events.at(-1)).toMatchObject({
      provider: 'p-query',
      purpose: 'sync.contacts',
      method: 'POST',
      host: 'localhost',
      path: '/v2/items',
      status: 200,
      actor: expect.stringMatching(/^user:/),
    });
    expect(JSON.stringify(events)).not.toContain(key);
    expect(JSON.stringify(events)).not.toContain('q=x');
  });

  it('[T3] a host not allowed, a redirect, a timeout, an oversize answer: clear errors, no 500', async () => {
    const id = await connection('p-bearer', { secret: freshSecret() });
    const other = await send(id, { host: 'elsewhere.example' });
    expect(other.statusCode).toBe(400);
    expect(other.json().error.code).toBe('connection_host_not_allowed');
    for (const [path, reason] of [
      ['/redirect', 'redirect_refused'],
      ['/slow', 'timeout'],
      ['/big', 'response_too_large'],
    ] as const) {
      const res = await send(id, { path });
      expect(res.statusCode, path).toBe(502);
      expect(res.json().error.code).toBe('connection_request_failed');
      expect(res.json().error.message).toContain(reason);
    }
    const events = await usedEvents(id);
    expect(events.slice(-3).map((e) => e.error)).toEqual(['redirect_refused', 'timeout', 'response_too_large']);
    expect(server.seen.some((s) => s.url.includes('steal'))).toBe(false);
  });

  it('[T3] refused headers and malformed requests are 400s; a binary answer comes base64', async () => {
    const id = await connection('p-bearer', { secret: freshSecret() });
    for (const header of ['Authorization', 'cookie', 'Host', 'proxy-authorization']) {
      const res = await send(id, { headers: { [header]: 'x' } });
      expect(res.statusCode, header).toBe(400);
      expect(res.json().error.code).toBe('connection_header_refused');
    }
    for (const bad of [{ path: 'no-slash' }, { path: '/a?b=1' }, { purpose: 'Not Valid!' }, { method: 'TRACE' }]) {
      const res = await send(id, bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    const bin = (await send(id, { path: '/binary' })).json();
    expect(bin.body).toBe('');
    expect(Buffer.from(bin.bodyBase64, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x81]));
  });

  it('[O1] viewers see nothing, members see but cannot manage or use, API keys need their scope', async () => {
    const id = await connection('p-bearer', { secret: freshSecret() });
    const viewer = await people.join(owner, orgId, 'viewer');
    const member = await people.join(owner, orgId, 'member');
    expect((await viewer.client.api('GET', base)).statusCode).toBe(403);
    expect((await member.client.api('GET', base)).statusCode).toBe(200);
    const add = await member.client.api('POST', base, { providerId: 'p-bearer', label: 'm', secret: freshSecret() });
    expect(add.statusCode).toBe(403);
    expect((await member.client.api('DELETE', `${base}/${id}`)).statusCode).toBe(403);
    expect((await member.client.api('PUT', `${base}/${id}/secret`, { secret: freshSecret() })).statusCode).toBe(403);
    expect((await send(id, {}, member.client)).statusCode).toBe(403);

    const readOnly = await apiKey(['connections.read']);
    expect((await withKey(readOnly, id)).statusCode).toBe(403);
    const user = await apiKey(['connections.use']);
    const res = await withKey(user, id);
    expect(res.statusCode).toBe(200);
    expect((await usedEvents(id)).at(-1)!.actor).toMatch(/^apikey:/);
  });

  it('[O2] a connection of another organization is not found, even with its id', async () => {
    const id = await connection('p-bearer', { secret: freshSecret() });
    const stranger = await helpers.signedIn(await helpers.verified());
    const theirOrg = (await stranger.api('POST', '/api/v1/orgs', { name: 'Theirs' })).json().id as string;
    const res = await stranger.api('POST', `/api/v1/orgs/${theirOrg}/connections/${id}/requests`, {
      purpose: 'steal',
      method: 'GET',
      path: '/echo',
    });
    expect(res.statusCode).toBe(404);
    expect((await stranger.api('GET', `${base}/${id}`)).statusCode).toBe(404);
  });

  it('[T3] code inside Rampart cannot aim the bound fetch at another host; the attempt is audited', async () => {
    const id = await connection('p-bearer', { secret: freshSecret() });
    const before = server.seen.length;
    for (const url of ['https://elsewhere.example/x', `https://localhost:${server.port + 1}/x`, 'not a url'])
      await expect(
        vault().useCredential(orgId, id, 'sneaky', (f) => f(url)),
        url,
      ).rejects.toMatchObject({
        code: 'connection_host_not_allowed',
      });
    expect(server.seen.length).toBe(before);
    const sneaky = (await usedEvents(id)).filter((e) => e.purpose === 'sneaky');
    expect(sneaky.map((e) => e.error)).toEqual(['host_not_allowed', 'host_not_allowed']);
  });

  it('[R3] requests through connections, and checks of their keys, are rate limited per organization', async () => {
    const other = await helpers.signedIn(await helpers.verified());
    const otherOrg = (await other.api('POST', '/api/v1/orgs', { name: 'Busy' })).json().id as string;
    const c = await other.api('POST', `/api/v1/orgs/${otherOrg}/connections`, {
      providerId: 'p-bearer',
      label: 'busy',
      secret: freshSecret(),
    });
    const url = `/api/v1/orgs/${otherOrg}/connections/${c.json().id}/requests`;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push((await other.api('POST', url, { purpose: 'busy', method: 'GET', path: '/echo' })).statusCode);
    // The check made when the key was added spent one of the 30.
    expect(statuses.slice(0, 29).every((s) => s === 200)).toBe(true);
    expect(statuses[29]).toBe(429);
    const check = await other.api('POST', `/api/v1/orgs/${otherOrg}/connections/${c.json().id}/check`);
    expect(check.statusCode).toBe(429);
    expect(check.json().error.code).toBe('rate_limited');
    // Another organization's allowance is its own.
    expect((await send(await connection('p-bearer', { secret: freshSecret() }), {})).statusCode).toBe(200);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import type { TestClient } from '../../test/helpers/client.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';

/*
 * D1, invariant 2: a known secret is fed through every flow of a connection (paste on the page and
 * in the API, use that succeeds and fails in each way, replace, delete), at the most talkative log
 * level. It is then searched for in everything that left useCredential: every log line, every
 * audit payload, every response body and header, every page.
 */

const server = await new TestProvider().start();
const { t, vault } = await vaultTestApp(server, { env: { LOG_LEVEL: 'trace' } });
afterAll(async () => {
  await t.close();
  await server.close();
});
const helpers = accounts(t);
const admin = await providerAdmin(t);
await admin.provider('leaky-query', server, { authStyle: 'query', authName: 'api_key' });
await admin.provider('leaky-basic', server, { authStyle: 'basic' });

describe('the plaintext never leaves useCredential (D1)', () => {
  it('[D1] a known secret is in no log, audit payload, error, response or page, whatever happens', async () => {
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Leak Check' })).json().id as string;
    const base = `/api/v1/orgs/${orgId}/connections`;
    const secret = freshSecret();
    const replacement = freshSecret('rk_live_');
    const password = freshSecret('pw_');
    server.accepted.add(secret);
    const outputs: string[] = [];
    const keep = <R extends { body: string; headers: Record<string, unknown> }>(res: R): R => {
      outputs.push(res.body, JSON.stringify(res.headers));
      return res;
    };
    const pageOf = async (client: TestClient) => keep(await client.page(`/orgs/${orgId}/connections`));

    // Pasted in the page (a failed form first: the secret must not be echoed back into it), then in the API
    keep(await owner.form(`/orgs/${orgId}/connections`, { providerId: 'leaky-query', label: '', secret }));
    const pasted = keep(
      await owner.form(`/orgs/${orgId}/connections`, { providerId: 'leaky-query', label: 'page', secret }),
    );
    expect(pasted.statusCode).toBe(303);
    await pageOf(owner);
    const viaApi = keep(await owner.api('POST', base, { providerId: 'leaky-query', label: 'api', secret }));
    expect(viaApi.json().status).toBe('valid');
    keep(await owner.api('POST', base, { providerId: 'leaky-query', label: 'x'.repeat(200), secret }));
    keep(await owner.api('POST', base, { providerId: 'nope', label: 'bad provider', secret }));
    keep(await owner.api('POST', base, { providerId: 'leaky-basic', label: 'basic', username: 'me', password }));
    const id = viaApi.json().id as string;

    // Used: success (the provider echoes the request), refusal, timeout, redirect, oversize, a refused host
    for (const path of ['/echo', '/v1/me', '/slow', '/redirect', '/big'])
      keep(await owner.api('POST', `${base}/${id}/requests`, { purpose: 'leak.check', method: 'GET', path }));
    keep(
      await owner.api('POST', `${base}/${id}/requests`, {
        purpose: 'x',
        method: 'GET',
        path: '/',
        host: 'evil.example',
      }),
    );
    server.accepted.delete(secret);
    keep(await owner.api('POST', `${base}/${id}/check`));
    // Code inside Rampart: fn sees a response, never the key, even when the provider quotes it
    const seenByFn = await vault().useCredential(orgId, id, 'leak.inside', async (f) => {
      const res = await f(`https://${server.host}/echo`);
      return JSON.stringify({ url: res.url, headers: res.headers, body: res.text() });
    });
    outputs.push(seenByFn);
    const thrown = await vault()
      .useCredential(orgId, id, 'leak.inside', (f) => f(`https://${server.host}/redirect`))
      .catch((err: Error) => `${err.name} ${err.message} ${err.stack} ${JSON.stringify(err)}`);
    outputs.push(String(thrown));

    // Replaced (page and API), then deleted
    keep(await owner.form(`/orgs/${orgId}/connections/${id}/secret`, { secret: replacement }));
    keep(await owner.api('PUT', `${base}/${id}/secret`, { secret: replacement }));
    await pageOf(owner);
    keep(await owner.api('GET', base));
    keep(await owner.api('GET', `${base}/${id}`));
    keep(await owner.form(`/orgs/${orgId}/connections/${id}/delete`, {}));
    await pageOf(owner);

    // The key did reach the provider: the search below is not vacuous.
    expect(server.seen.some((s) => s.url.includes(`api_key=${secret}`))).toBe(true);

    const audit = JSON.stringify(await t.db.owner.selectFrom('audit_events').selectAll().execute());
    const logs = t.logs();
    expect(logs.length).toBeGreaterThan(1000);
    const forms = (s: string) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64'), s.slice(8, 28)];
    const basicPair = Buffer.from(`me:${password}`).toString('base64');
    for (const [where, text] of [
      ['logs', logs],
      ['audit payloads', audit],
      ['responses and pages', outputs.join('\n')],
    ] as const) {
      for (const value of [...forms(secret), ...forms(replacement), ...forms(password), basicPair])
        expect(text.includes(value), `${where} hold a form of the secret`).toBe(false);
    }
    expect(outputs.join('\n')).toContain('[redacted]');
  });
});

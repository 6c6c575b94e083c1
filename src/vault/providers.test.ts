import { afterAll, describe, expect, it } from 'vitest';
import type { TrustProbe } from '../feature.js';
import { accounts } from '../../test/helpers/accounts.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';
import { vaultFeature } from './index.js';
import { hostProblem } from './providers.js';
import { maskOf } from './sealing.js';

/*
 * The provider registry (T3, D1): where a customer's key may be sent is the operator's decision,
 * made once, checked strictly, audited; the scheduled re-check tells owners when a key stops working.
 */

const server = await new TestProvider().start();
const { t, ctx } = await vaultTestApp(server);
afterAll(async () => {
  await t.close();
  await server.close();
});
const helpers = accounts(t);
const admin = await providerAdmin(t);
const put = (id: string, body: Record<string, unknown>) =>
  admin.op('PUT', `/api/v1/operator/vault/providers/${id}`, {
    name: 'Example',
    kind: 'api_key',
    allowedHosts: ['api.example.com'],
    authStyle: 'bearer',
    ...body,
  });

const probe: TrustProbe = {
  async request(path) {
    const res = await t.app.inject({ url: path });
    return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
  },
};
const trust = async () =>
  new Map(await Promise.all(vaultFeature.trustChecks(ctx()).map(async (c) => [c.id, await c.run(probe)] as const)));

describe('connection providers (T3)', () => {
  it('[D1] trust: not configured without connections, yet the live seal/open round trip ran', async () => {
    const checks = await trust();
    expect(checks.get('vault-sealed-at-rest')).toMatchObject({ status: 'not_configured' });
    expect(checks.get('vault-sealed-at-rest')!.detail).toContain('moved-value refusal passed');
    expect(checks.get('connection-providers-https')).toMatchObject({ status: 'not_configured' });
  });

  it('[T3] hosts are exact public names: no scheme, wildcard, path or private address', async () => {
    for (const host of [
      'https://api.example.com',
      '*.example.com',
      'api.example.com/v1',
      '10.0.0.7',
      '169.254.169.254',
      '192.168.1.1',
      'fd00::1',
      'API.example.com',
      'intranet',
      'db.internal',
    ]) {
      const res = await put('bad-host', { allowedHosts: [host] });
      expect(res.statusCode, host).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'provider_invalid' });
      expect(res.json().error.fields[0].field).toBe('allowedHosts');
    }
    expect(hostProblem('8.8.8.8', false)).toBeUndefined();
    expect(hostProblem('localhost:8443', false)).toMatch(/dev mode/);
    expect(hostProblem('localhost:8443', true)).toBeUndefined();
    expect(hostProblem('api.example.com:0', false)).toMatch(/port/);
  });

  it('[T3] OAuth endpoints must be https; the client secret is sealed and never shown', async () => {
    const oauth = {
      authorizationEndpoint: 'https://auth.example.com/authorize',
      tokenEndpoint: 'http://auth.example.com/token',
      clientId: 'rampart',
      clientSecret: 'client-secret-value-1234567890',
    };
    const bad = await put('oauthy', { kind: 'oauth', oauth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields).toEqual([
      { field: 'tokenEndpoint', message: 'is not encrypted (plain text on the network)' },
    ]);
    const good = await put('oauthy', {
      kind: 'oauth',
      oauth: { ...oauth, tokenEndpoint: 'https://auth.example.com/token' },
    });
    expect(good.statusCode).toBe(200);
    expect(good.json().oauth).toMatchObject({ hasClientSecret: true, clientId: 'rampart' });
    expect(good.body).not.toContain(oauth.clientSecret);
    const row = await t.db.owner
      .selectFrom('vault_providers')
      .selectAll()
      .where('id', '=', 'oauthy')
      .executeTakeFirstOrThrow();
    expect(row.oauth_client_secret_sealed).toMatch(/^rmp1\./);
    const events = await t.db.owner
      .selectFrom('audit_events')
      .select(['payload', 'actor'])
      .where('action', '=', 'vault.provider_saved')
      .where('target', '=', 'vault_provider:oauthy')
      .execute();
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(oauth.clientSecret);
    expect(events[0]!.actor).toMatch(/^operator:/);
    expect((await trust()).get('connection-providers-https')).toMatchObject({ status: 'passing' });
  });

  it('[T3] a provider in use cannot be removed; unused, it can', async () => {
    expect((await put('in-use', { allowedHosts: [server.host] })).statusCode).toBe(200);
    const owner = await helpers.signedIn(await helpers.verified());
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'User' })).json().id as string;
    const c = await owner.api('POST', `/api/v1/orgs/${orgId}/connections`, {
      providerId: 'in-use',
      label: 'main',
      secret: freshSecret(),
    });
    expect(c.json().status).toBe('unchecked');
    const refused = await admin.op('DELETE', '/api/v1/operator/vault/providers/in-use');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('provider_in_use');
    expect((await owner.api('DELETE', `/api/v1/orgs/${orgId}/connections/${c.json().id}`)).statusCode).toBe(204);
    expect((await admin.op('DELETE', '/api/v1/operator/vault/providers/in-use')).statusCode).toBe(204);
    expect((await admin.op('GET', '/api/v1/operator/vault/providers/in-use')).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/v1/operator/vault/providers' })).statusCode).toBe(401);
  });

  it('[D1] masks show a prefix and the last four, never more than a quarter; short keys only dots', () => {
    const long = `sk_live_${'a'.repeat(40)}WXYZ`;
    expect(maskOf(long)).toBe('sk_live_…WXYZ');
    expect(maskOf('abcdefghijklmnop1234')).toBe('ab…1234');
    expect(maskOf('short-key-12')).toBe('••••••••');
  });
});

describe('the scheduled re-check (D1)', () => {
  it('[D1] a key that stops working is marked revoked, audited, and mailed to the owners once', async () => {
    await admin.provider('recheck', server);
    const owner = await helpers.signedIn(await helpers.verified());
    const ownerEmail = (await owner.api('GET', '/api/v1/me')).json().user.email as string;
    const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Rechecked' })).json().id as string;
    const key = freshSecret();
    server.accepted.add(key);
    const never = freshSecret();
    const base = `/api/v1/orgs/${orgId}/connections`;
    const c = (await owner.api('POST', base, { providerId: 'recheck', label: 'was valid', secret: key })).json();
    const n = (await owner.api('POST', base, { providerId: 'recheck', label: 'never valid', secret: never })).json();
    expect([c.status, n.status]).toEqual(['valid', 'invalid']);

    server.accepted.delete(key);
    t.clock.advance(6 * 60 * 60 * 1000);
    await t.runJob('vault.recheck');
    await t.runJob('vault.recheck');
    const now = (await owner.api('GET', base)).json().connections as Array<{
      id: string;
      status: string;
      checkedAt: string;
    }>;
    expect(now.find((x) => x.id === c.id)).toMatchObject({ status: 'revoked', checkedAt: t.clock.now().toISOString() });
    expect(now.find((x) => x.id === n.id)).toMatchObject({ status: 'invalid' });
    const changes = await t.db.owner
      .selectFrom('audit_events')
      .select(['payload', 'target'])
      .where('org_id', '=', orgId)
      .where('action', '=', 'connection.status_changed')
      .execute();
    expect(changes).toHaveLength(1);
    expect(changes[0]!.target).toBe(`connection:${c.id}`);
    const mail = await t.mailTo(ownerEmail, /needs attention/);
    expect(mail.text).toContain(`/orgs/${orgId}/connections`);
    expect(mail.text).toContain('was valid');
    expect(mail.text).not.toContain(key);
    const all = (await t.mailbox.list(500)).filter((m) => m.to === ownerEmail && /needs attention/.test(m.subject));
    expect(all).toHaveLength(1);
  });
});

describe('the D1 trust check on stored rows', () => {
  it('[D1] passes on sealed rows and fails on a row that is not an envelope', async () => {
    expect((await trust()).get('vault-sealed-at-rest')).toMatchObject({ status: 'passing' });
    const row = await t.db.owner.selectFrom('vault_secrets').selectAll().limit(1).executeTakeFirstOrThrow();
    await t.db.owner
      .updateTable('vault_secrets')
      .set({ sealed: 'plain-text-key-1234' })
      .where('connection_id', '=', row.connection_id)
      .where('field', '=', row.field)
      .execute();
    try {
      expect((await trust()).get('vault-sealed-at-rest')).toMatchObject({
        status: 'failing',
        detail: 'a stored credential is not a sealed envelope',
      });
    } finally {
      await t.db.owner
        .updateTable('vault_secrets')
        .set({ sealed: row.sealed })
        .where('connection_id', '=', row.connection_id)
        .where('field', '=', row.field)
        .execute();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';
import { API_SCOPE, type OauthUpstream, startOauthUpstream } from '../../test/helpers/oauth-upstream.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { removeTempDirs } from '../../test/helpers/process.js';
import { makeCertificate } from '../../test/helpers/upstream.js';
import { defineFeature, type FeatureContext, type TrustVerdict } from '../feature.js';
import { FEATURES } from '../features.js';
import { AppError } from '../platform/errors.js';
import { parseKeyring } from '../platform/crypto/keyring.js';
import type { OauthConnections } from './oauth.js';
import { OAUTH_REFRESH_JOB, vaultOauthTrustChecks } from './oauth-feature.js';
import { upsertOauthProvider } from './oauth-repository.js';
import { OAUTH_FLOW_COOKIE } from './oauth-routes.js';
import { openField, orgKek } from './sealing.js';

/*
 * A7 (connections half) end to end: oidc-provider is the provider's authorization server over real
 * HTTPS on loopback (a certificate made here, trusted through openid-client's customFetch). The test
 * plays the browser: Rampart through inject, the provider over HTTPS.
 */

const contexts: FeatureContext[] = [];
const capture = defineFeature({
  name: 'capture',
  title: 'Test: the feature context',
  setup: (ctx) => void contexts.push(ctx),
});
const certificate = makeCertificate();
const options = { features: [...FEATURES, capture], overrides: { vaultOutbound: { ca: certificate.cert } } };

let t: TestApp;
let t2: TestApp;
let upstream: OauthUpstream;
let service: OauthConnections;
let service2: OauthConnections;
let people: ReturnType<typeof orgPeople>;
let owner: { email: string; client: TestClient; id: string };
let orgId: string;
let before: TrustVerdict;
const keyring = () => parseKeyring(t.config.masterKeys!);

beforeAll(async () => {
  t = await createTestApp({}, undefined, options);
  t2 = await createTestApp({}, undefined, { ...options, db: t.db, sameDeploymentAs: t });
  service = contexts[0]!.use('vaultOauth');
  service2 = contexts[1]!.use('vaultOauth');
  before = await check();
  upstream = await startOauthUpstream({ certificate, redirectUri: service.redirectUri });
  await provider('acme', `${upstream.issuer}/token/revocation`);
  // The same server, but its revocation endpoint does not answer.
  await provider('norevoke', 'https://localhost:1/revoke');
  people = orgPeople(t);
  owner = await people.person();
  owner.id = (await owner.client.api('GET', '/api/v1/me')).json().user.id;
  orgId = (await owner.client.api('POST', '/api/v1/orgs', { name: 'Connected' })).json().id;
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  await t2?.close();
  await t?.close();
  removeTempDirs();
});

function provider(id: string, revocationEndpoint?: string) {
  return t.db.withSystem((tx) =>
    upsertOauthProvider(tx, keyring(), {
      id,
      name: `Provider ${id}`,
      allowedHosts: ['api.vault-test.example'],
      authorizationEndpoint: `${upstream.issuer}/auth`,
      tokenEndpoint: `${upstream.issuer}/token`,
      revocationEndpoint,
      clientId: upstream.clientId,
      clientSecret: upstream.clientSecret,
      scopes: API_SCOPE,
      now: t.clock.now(),
      dev: t.config.dev,
    }),
  );
}

const check = () => vaultOauthTrustChecks(contexts[0]!)[0]!.run({} as never);

/** Presses "Connect" on the connections page: where Rampart sends the browser. */
async function start(client: TestClient, label: string, providerId = 'acme', org = orgId) {
  const res = await client.form(`/orgs/${org}/connections/oauth/start`, { providerId, label });
  expect(res.statusCode, res.body).toBe(303);
  return res.headers.location as string;
}

const callback = (client: TestClient, back: URL) => client.page(`${back.pathname}${back.search}`);

let labels = 0;
/** Start → the provider's consent → the callback: the connection made. */
async function connect(providerId = 'acme') {
  const label = `Acme ${++labels}`;
  const back = await upstream.authorize(await start(owner.client, label, providerId));
  const res = await callback(owner.client, back);
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe(`/orgs/${orgId}/connections`);
  const row = await t.db.withTenant(orgId, (tx) =>
    tx.selectFrom('vault_connections').selectAll().where('label', '=', label).executeTakeFirstOrThrow(),
  );
  return { row, back };
}

const connection = (id: string) =>
  t.db.withTenant(orgId, (tx) =>
    tx.selectFrom('vault_connections').selectAll().where('id', '=', id).executeTakeFirst(),
  );

/** What the database holds of a connection's tokens, opened as only the vault can (test inspection). */
async function tokensOf(id: string, providerId = 'acme') {
  return t.db.withTenant(orgId, async (tx) => {
    const rows = await tx.selectFrom('vault_secrets').selectAll().where('connection_id', '=', id).execute();
    const kek = (await orgKek(tx, { keyring: keyring(), clock: t.clock }, orgId, { create: false }))!;
    const ctx = (field: string) => ({ org: orgId, connection: id, field, provider: providerId });
    return Object.fromEntries(rows.map((r) => [r.field, openField(kek, r.sealed, ctx(r.field))]));
  });
}

const actions = async (target: string) =>
  (
    await t.db.withTenant(orgId, (tx) =>
      tx.selectFrom('audit_events').select(['action', 'payload']).where('target', '=', target).orderBy('seq').execute(),
    )
  ).map((e) => e.action);

const code = (err: unknown) => (err instanceof AppError ? err.code : String(err));
const HOUR = 3600_000;

describe('[A7] OAuth connections: code + PKCE + state', () => {
  it('[A7] connect with code + PKCE against a real authorization server; the tokens are sealed', async () => {
    const label = 'Acme main';
    const location = new URL(await start(owner.client, label));
    expect(location.origin).toBe(upstream.issuer);
    const q = location.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('scope')).toBe(API_SCOPE);
    expect(q.get('redirect_uri')).toBe(`${t.config.baseUrl.replace(/\/$/, '')}/vault/oauth/callback`);
    const codes = upstream.grants.authorization_code ?? 0;

    const back = await upstream.authorize(location.href);
    const res = await callback(owner.client, back);
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`/orgs/${orgId}/connections`);
    expect(upstream.grants.authorization_code).toBe(codes + 1);

    const row = await t.db.withTenant(orgId, (tx) =>
      tx.selectFrom('vault_connections').selectAll().where('label', '=', label).executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({ kind: 'oauth', status: 'valid', provider_id: 'acme', created_by: owner.id });
    expect(row.token_expires_at!.getTime()).toBe(t.clock.now().getTime() + HOUR);
    const tokens = await tokensOf(row.id);
    expect(Object.keys(tokens).sort()).toEqual(['access_token', 'refresh_token']);
    expect(row.mask.endsWith(tokens.access_token!.slice(-4))).toBe(true);
    expect(await upstream.introspect(tokens.access_token!)).toBe(true);
    expect(await service.accessToken(orgId, row.id)).toBe(tokens.access_token);
    expect(await actions(`connection:${row.id}`)).toEqual(['connection.created']);

    // D1: no token in plain text anywhere in the database rows of the vault, the flows or the audit log.
    const everything = JSON.stringify(
      await t.db.withTenant(orgId, async (tx) => ({
        secrets: await tx.selectFrom('vault_secrets').selectAll().execute(),
        connections: await tx.selectFrom('vault_connections').selectAll().execute(),
        audit: await tx.selectFrom('audit_events').selectAll().execute(),
      })),
    );
    const flows = JSON.stringify(
      await t.db.withSystem((tx) => tx.selectFrom('vault_oauth_flows').selectAll().execute()),
    );
    // Nor the code and state of the answer (the callback's URL, which is logged), nor the client secret.
    expect(t.logs()).toContain('/vault/oauth/callback');
    for (const secret of [back.searchParams.get('code')!, back.searchParams.get('state')!, upstream.clientSecret])
      expect(t.logs()).not.toContain(secret);
    for (const token of Object.values(tokens)) {
      expect(everything).not.toContain(token);
      expect(flows).not.toContain(token);
      expect(t.logs()).not.toContain(token);
    }
  });

  it('[A7] a replayed answer (the same state again) is refused, and makes no second connection', async () => {
    const { back } = await connect();
    const count = async () =>
      (await t.db.withTenant(orgId, (tx) => tx.selectFrom('vault_connections').select('id').execute())).length;
    const n = await count();
    const again = await callback(owner.client, back);
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('expired, was already used, or was started in another browser');
    expect(await count()).toBe(n);
  });

  it("[A7] another browser's cookie, or another person, is refused; the right one still connects", async () => {
    const label = 'Acme browsers';
    const back = await upstream.authorize(await start(owner.client, label));
    // The same person in another browser: their session, not the cookie of the browser that started.
    const other = new TestClient(t.app);
    for (const [k, v] of owner.client.cookies) if (k !== OAUTH_FLOW_COOKIE) other.cookies.set(k, v);
    other.cookies.set(OAUTH_FLOW_COOKIE, 'A'.repeat(43));
    expect((await callback(other, back)).statusCode).toBe(400);
    // Another person with the right cookie (copied): still refused.
    const stranger = await people.person();
    stranger.client.cookies.set(OAUTH_FLOW_COOKIE, owner.client.cookies.get(OAUTH_FLOW_COOKIE)!);
    expect((await callback(stranger.client, back)).statusCode).toBe(400);
    // Neither spent it.
    const res = await callback(owner.client, back);
    expect(res.statusCode, res.body).toBe(303);
  });

  it('[A7] a flow older than ten minutes is refused', async () => {
    const back = await upstream.authorize(await start(owner.client, 'Acme late'));
    t.clock.advance(10 * 60_000 + 1000);
    const res = await callback(owner.client, back);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Start again');
  });

  it('[A7] a refusal at the provider (access_denied) gives a clear page, never a 500; odd answers too', async () => {
    const back = await upstream.authorize(await start(owner.client, 'Acme denied'), { deny: true });
    expect(back.searchParams.get('error')).toBe('access_denied');
    const res = await callback(owner.client, back);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('did not grant access');
    for (const query of ['', '?state=x', '?code=1&state=', `?state=${'a'.repeat(43)}`, `?code=${'x'.repeat(5000)}`]) {
      const odd = await owner.client.page(`/vault/oauth/callback${query}`);
      expect(odd.statusCode, query).toBe(400);
    }
    // Not signed in: sent to sign in, and back here afterwards.
    const anonymous = await new TestClient(t.app).page(`${back.pathname}${back.search}`);
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toMatch(/^\/signin\?next=/);
  });

  it('[A7] the JSON start answers the authorization URL; API keys and unknown providers are refused', async () => {
    const res = await owner.client.api('POST', `/api/v1/orgs/${orgId}/connections/oauth/start`, {
      providerId: 'acme',
      label: 'Acme api',
    });
    expect(res.statusCode, res.body).toBe(200);
    const url = new URL(res.json().authorizationUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(owner.client.cookies.get(OAUTH_FLOW_COOKIE)).toBeTruthy();
    const unknown = await owner.client.api('POST', `/api/v1/orgs/${orgId}/connections/oauth/start`, {
      providerId: 'nope',
      label: 'x',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('oauth_provider_not_found');
    const key = (
      await owner.client.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
        name: 'k',
        scopes: ['connections.manage'],
        expiresInDays: 1,
      })
    ).json().key;
    const byKey = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${orgId}/connections/oauth/start`,
      payload: { providerId: 'acme', label: 'by key' },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(byKey.statusCode).toBe(401);
  });
});

describe('[D1] sealed tokens', () => {
  it("[D1] a token moved to another connection's row fails to decrypt, loudly", async () => {
    const { row: a } = await connect();
    const { row: b } = await connect();
    await t.db.withTenant(orgId, async (tx) => {
      const sealed = await tx
        .selectFrom('vault_secrets')
        .select('sealed')
        .where('connection_id', '=', a.id)
        .where('field', '=', 'access_token')
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('vault_secrets')
        .set({ sealed: sealed.sealed })
        .where('connection_id', '=', b.id)
        .where('field', '=', 'access_token')
        .execute();
    });
    await expect(service.accessToken(orgId, b.id)).rejects.toThrow();
    expect(await service.accessToken(orgId, a.id)).toBe((await tokensOf(a.id)).access_token);
  });

  it('[A7] a label the organization already uses is refused at the callback with a page that says so', async () => {
    const { row } = await connect();
    const back = await upstream.authorize(await start(owner.client, row.label));
    const res = await callback(owner.client, back);
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain('already has a connection with this label');
  });
});

describe('[A7] refresh: one at a time per connection', () => {
  it('[A7] a token about to expire is refreshed before use (the rotated refresh token is stored)', async () => {
    const { row } = await connect();
    const first = await tokensOf(row.id);
    const refreshes = upstream.grants.refresh_token ?? 0;
    expect(await service.accessToken(orgId, row.id)).toBe(first.access_token);
    expect(upstream.grants.refresh_token ?? 0).toBe(refreshes);

    t.clock.advance(HOUR - 30_000);
    const fresh = await service.accessToken(orgId, row.id);
    expect(fresh).not.toBe(first.access_token);
    expect(upstream.grants.refresh_token).toBe(refreshes + 1);
    const now = await tokensOf(row.id);
    expect(now.access_token).toBe(fresh);
    expect(now.refresh_token).not.toBe(first.refresh_token);
    expect(await upstream.introspect(fresh)).toBe(true);
    const after = (await connection(row.id))!;
    expect(after.token_expires_at!.getTime()).toBe(t.clock.now().getTime() + HOUR);
    expect(after.refresh_lease_until).toBeNull();
    expect(await actions(`connection:${row.id}`)).toEqual(['connection.created', 'connection.oauth_refreshed']);
    expect(t.logs()).not.toContain(fresh);
  });

  it('[A7] concurrent accessToken calls on two instances sharing the database cause exactly one refresh', async () => {
    const { row } = await connect();
    // Several rounds: a call that read the row before another's refresh finished must not refresh again.
    for (let round = 0; round < 6; round++) {
      const old = (await tokensOf(row.id)).access_token;
      t.clock.advance(HOUR - 10_000);
      t2.clock.set(t.clock.now());
      const refreshes = upstream.grants.refresh_token ?? 0;
      const got = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? service2 : service).accessToken(orgId, row.id)),
      );
      expect(upstream.grants.refresh_token).toBe(refreshes + 1);
      expect(new Set(got).size).toBe(1);
      expect(got[0]).not.toBe(old);
      expect(got[0]).toBe((await tokensOf(row.id)).access_token);
    }
  });

  it('[T3] refresh uses the outbound fetch: a provider resolving to a private address is not contacted', async () => {
    const { row } = await connect();
    const privateDns = {
      ...options.overrides.vaultOutbound,
      resolve: async () => [{ address: '10.0.0.7', family: 4 as const }],
    };
    const t3 = await createTestApp({}, undefined, {
      ...options,
      overrides: { vaultOutbound: privateDns },
      db: t.db,
      sameDeploymentAs: t,
    });
    try {
      t.clock.advance(HOUR - 10_000);
      t3.clock.set(t.clock.now());
      const refreshes = upstream.grants.refresh_token ?? 0;
      const err = await contexts
        .at(-1)!
        .use('vaultOauth')
        .accessToken(orgId, row.id)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('oauth_provider_unreachable');
      expect(upstream.grants.refresh_token ?? 0).toBe(refreshes);
      expect((await connection(row.id))!.refresh_lease_until).toBeNull();
    } finally {
      await t3.close();
    }
  });

  it('[A7] the refresh job refreshes tokens that expire within ten minutes, and leaves the others', async () => {
    const { row: due } = await connect();
    t.clock.advance(HOUR - 5 * 60_000);
    const { row: later } = await connect();
    const refreshes = upstream.grants.refresh_token ?? 0;
    await t.runJob(OAUTH_REFRESH_JOB);
    // Every connection made earlier in this file is due too (their hour passed): each refreshed once.
    const refreshed = upstream.grants.refresh_token! - refreshes;
    expect(refreshed).toBeGreaterThanOrEqual(1);
    expect((await connection(due.id))!.token_expires_at!.getTime()).toBe(t.clock.now().getTime() + HOUR);
    expect((await connection(later.id))!.token_expires_at!.getTime()).toBe(later.token_expires_at!.getTime());
    await t.runJob(OAUTH_REFRESH_JOB);
    expect(upstream.grants.refresh_token).toBe(refreshes + refreshed);
  });

  it('[A7] a refused refresh marks the connection refresh_failed and mails the owners once', async () => {
    const { row } = await connect();
    await upstream.revoke((await tokensOf(row.id)).refresh_token!);
    t.clock.advance(HOUR);
    t2.clock.set(t.clock.now());
    const results = await Promise.allSettled([service.accessToken(orgId, row.id), service2.accessToken(orgId, row.id)]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(code((r as PromiseRejectedResult).reason)).toBe('oauth_refresh_failed');
    }
    const after = (await connection(row.id))!;
    expect(after.status).toBe('refresh_failed');
    expect(after.status_detail).toContain('invalid_grant');
    const mail = await t.mailTo(owner.email, /stopped working/);
    expect(mail.text).toContain(row.label);
    expect(mail.text).toContain(`/orgs/${orgId}/connections`);
    // The others made earlier in this file are due as well: the first run refreshes them, the next nothing.
    await t.runJob(OAUTH_REFRESH_JOB);
    const refreshes = upstream.grants.refresh_token;
    await expect(service.accessToken(orgId, row.id)).rejects.toThrow(/renew/);
    await t.runJob(OAUTH_REFRESH_JOB);
    expect(upstream.grants.refresh_token).toBe(refreshes);
    expect((await connection(row.id))!.status).toBe('refresh_failed');
    const mails = (await t.mailbox.list(500)).filter((m) => m.to === owner.email && m.text.includes(`"${row.label}"`));
    expect(mails).toHaveLength(1);
    expect((await actions(`connection:${row.id}`)).filter((a) => a === 'connection.oauth_refresh_failed')).toHaveLength(
      1,
    );
  });
});

describe('[A7] disconnect', () => {
  it('[A7] disconnect revokes at the provider (RFC 7009: introspection says inactive) and deletes', async () => {
    const { row } = await connect();
    const tokens = await tokensOf(row.id);
    expect(await upstream.introspect(tokens.refresh_token!)).toBe(true);
    const res = await owner.client.form(`/orgs/${orgId}/connections/${row.id}/oauth/disconnect`, {});
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`/orgs/${orgId}/connections`);
    expect(await upstream.introspect(tokens.refresh_token!)).toBe(false);
    expect(await upstream.introspect(tokens.access_token!)).toBe(false);
    expect(await connection(row.id)).toBeUndefined();
    const secrets = await t.db.withTenant(orgId, (tx) =>
      tx.selectFrom('vault_secrets').select('field').where('connection_id', '=', row.id).execute(),
    );
    expect(secrets).toEqual([]);
    expect(await actions(`connection:${row.id}`)).toContain('connection.deleted');
    await expect(service.accessToken(orgId, row.id)).rejects.toThrow(/not found/);
  });

  it('[A7] deleting is immediate when revocation fails: logged without the token, said in the result', async () => {
    const { row } = await connect('norevoke');
    const tokens = await tokensOf(row.id, 'norevoke');
    const result = await service.disconnect(orgId, row.id, `user:${owner.id}`);
    expect(result.revoked).toBe(false);
    expect(result.detail).toMatch(/did not confirm/);
    expect(await connection(row.id)).toBeUndefined();
    expect(t.logs()).toContain('oauth revocation failed');
    for (const token of Object.values(tokens)) expect(t.logs()).not.toContain(token);
  });

  it('[A7] a member cannot connect or disconnect (connections.manage)', async () => {
    const { row } = await connect();
    const member = await people.join(owner.client, orgId, 'member');
    const start = await member.client.form(`/orgs/${orgId}/connections/oauth/start`, {
      providerId: 'acme',
      label: 'm',
    });
    expect(start.statusCode).toBe(403);
    const api = await member.client.api('POST', `/api/v1/orgs/${orgId}/connections/oauth/start`, {
      providerId: 'acme',
      label: 'm',
    });
    expect(api.statusCode).toBe(403);
    const gone = await member.client.form(`/orgs/${orgId}/connections/${row.id}/oauth/disconnect`, {});
    expect(gone.statusCode).toBe(403);
    expect(await connection(row.id)).toBeDefined();
  });

  it('[A7] a flow started by an admin who is demoted before the answer comes back makes no connection', async () => {
    const admin = await people.join(owner.client, orgId, 'admin');
    const back = await upstream.authorize(await start(admin.client, 'Acme demoted'));
    const demoted = await owner.client.api('PATCH', `/api/v1/orgs/${orgId}/members/${admin.id}`, { role: 'member' });
    expect(demoted.statusCode, demoted.body).toBe(204);
    const res = await callback(admin.client, back);
    expect(res.statusCode).toBe(403);
    const made = await t.db.withTenant(orgId, (tx) =>
      tx.selectFrom('vault_connections').select('id').where('label', '=', 'Acme demoted').execute(),
    );
    expect(made).toEqual([]);
  });
});

describe('[A7] the trust check and the provider registry', () => {
  it('[A7] oauth-connections-pkce: not configured without a provider, passing with https and S256', async () => {
    expect(before.status).toBe('not_configured');
    const now = await check();
    expect(now.status, now.detail).toBe('passing');
    expect(now.detail).toContain('S256');
    // What the connections page lets its "Connect" forms lead to.
    expect(await service.providers()).toContainEqual({ id: 'acme', name: 'Provider acme', target: upstream.issuer });
  });

  it('[T3] a provider with a plain-http endpoint off this machine is refused, and fails the check', async () => {
    await expect(
      t.db.withSystem((tx) =>
        upsertOauthProvider(tx, keyring(), {
          id: 'plain',
          name: 'Plain',
          allowedHosts: ['api.example.com'],
          authorizationEndpoint: 'http://auth.example.com/authorize',
          tokenEndpoint: 'https://auth.example.com/token',
          clientId: 'c',
          scopes: 'read',
          now: t.clock.now(),
          dev: true,
        }),
      ),
    ).rejects.toThrow(/not valid/);
    // Written behind the registry's back (an older row): the check sees it.
    await t.db.withSystem((tx) =>
      tx
        .insertInto('vault_providers')
        .values({
          id: 'plain',
          name: 'Plain',
          kind: 'oauth',
          allowed_hosts: ['api.example.com'],
          auth_style: 'bearer',
          oauth_authorization_endpoint: 'http://auth.example.com/authorize',
          oauth_token_endpoint: 'https://auth.example.com/token',
          oauth_client_id: 'c',
          created_at: t.clock.now(),
          updated_at: t.clock.now(),
        })
        .execute(),
    );
    try {
      const verdict = await check();
      expect(verdict.status).toBe('failing');
      expect(verdict.detail).toContain('plain');
    } finally {
      await t.db.withSystem((tx) => tx.deleteFrom('vault_providers').where('id', '=', 'plain').execute());
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, freshEmail } from './helpers/accounts.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import type { TestClient } from './helpers/client.js';
import { permissions } from '../src/orgs/permissions.js';
import { parseKeyring } from '../src/platform/crypto/keyring.js';
import { upsertOauthProvider } from '../src/vault/oauth-repository.js';

/**
 * O2 attack suite. Every route that takes the id of something an organization owns is listed here
 * with a valid request; a member of org A (the strongest role, owner) aims each one at org B's ids.
 * Every attempt must answer 404 not_found, exactly like a missing id, and change nothing of B's.
 * The routes come from the app's own route table: a new route with an id parameter and no case
 * here fails the suite.
 */

interface World {
  orgA: string;
  orgB: string;
  memberOfB: string;
  invitationOfB: string;
  ownerOfB: string;
  keyOfB: string;
  connectionOfB: string;
}

/** personOnly: API keys may not call the route at all (401 before any id is looked at). */
type Case = { body?: (w: World) => unknown; personOnly?: boolean };

const ORG_ROUTES: Record<string, Case> = {
  'GET /api/v1/orgs/:orgId': {},
  'PATCH /api/v1/orgs/:orgId': { body: () => ({ name: 'pwned' }) },
  'DELETE /api/v1/orgs/:orgId': { body: () => ({ confirmName: 'B' }) },
  'POST /api/v1/orgs/:orgId/switch': { personOnly: true },
  'PUT /api/v1/orgs/:orgId/mfa-policy': { body: () => ({ required: true }) },
  'GET /api/v1/orgs/:orgId/members': {},
  'PATCH /api/v1/orgs/:orgId/members/:userId': { body: () => ({ role: 'viewer' }) },
  'DELETE /api/v1/orgs/:orgId/members/:userId': {},
  'POST /api/v1/orgs/:orgId/ownership': { body: (w) => ({ userId: w.memberOfB }) },
  'GET /api/v1/orgs/:orgId/invitations': {},
  'POST /api/v1/orgs/:orgId/invitations': { body: () => ({ email: freshEmail(), role: 'owner' }) },
  'DELETE /api/v1/orgs/:orgId/invitations/:invitationId': {},
  'POST /api/v1/orgs/:orgId/invitations/:invitationId/resend': {},
  'GET /api/v1/orgs/:orgId/api-keys': {},
  'POST /api/v1/orgs/:orgId/api-keys': { body: () => ({ name: 'pwned', scopes: ['org.read'], expiresInDays: 1 }) },
  'DELETE /api/v1/orgs/:orgId/api-keys/:keyId': {},
  'GET /api/v1/orgs/:orgId/audit': {},
  'GET /api/v1/orgs/:orgId/audit/export': {},
  'POST /api/v1/orgs/:orgId/audit/verify': {},
  'GET /api/v1/orgs/:orgId/access-review': {},
  'GET /api/v1/orgs/:orgId/access-review.csv': {},
  'POST /api/v1/orgs/:orgId/access-review/sign-off': { body: () => ({ note: 'pwned' }) },
  'GET /api/v1/orgs/:orgId/connections': {},
  'POST /api/v1/orgs/:orgId/connections': {
    body: () => ({ providerId: 'attack', label: 'pwned', secret: 'x'.repeat(30) }),
  },
  'GET /api/v1/orgs/:orgId/connections/:connectionId': {},
  'PUT /api/v1/orgs/:orgId/connections/:connectionId/secret': { body: () => ({ secret: 'y'.repeat(30) }) },
  'POST /api/v1/orgs/:orgId/connections/:connectionId/check': {},
  'DELETE /api/v1/orgs/:orgId/connections/:connectionId': {},
  'POST /api/v1/orgs/:orgId/connections/:connectionId/requests': {
    body: () => ({ purpose: 'pwned', method: 'GET', path: '/' }),
  },
  // The server-rendered pages and their forms (a person's session only).
  'GET /orgs/:orgId': { personOnly: true },
  'POST /orgs/:orgId/switch': { personOnly: true, body: () => ({}) },
  'POST /orgs/:orgId/rename': { personOnly: true, body: () => ({ name: 'pwned' }) },
  'POST /orgs/:orgId/mfa-policy': { personOnly: true, body: () => ({ required: 'true' }) },
  'POST /orgs/:orgId/transfer': { personOnly: true, body: (w) => ({ userId: w.memberOfB }) },
  'POST /orgs/:orgId/delete': { personOnly: true, body: () => ({ confirmName: 'B' }) },
  'POST /orgs/:orgId/leave': { personOnly: true, body: () => ({}) },
  'GET /orgs/:orgId/members': { personOnly: true },
  'POST /orgs/:orgId/members/:userId/role': { personOnly: true, body: () => ({ role: 'viewer' }) },
  'POST /orgs/:orgId/members/:userId/remove': { personOnly: true, body: () => ({}) },
  'GET /orgs/:orgId/invitations': { personOnly: true },
  'POST /orgs/:orgId/invitations': { personOnly: true, body: () => ({ email: freshEmail(), role: 'viewer' }) },
  'POST /orgs/:orgId/invitations/:invitationId/resend': { personOnly: true, body: () => ({}) },
  'POST /orgs/:orgId/invitations/:invitationId/revoke': { personOnly: true, body: () => ({}) },
  'GET /orgs/:orgId/api-keys': { personOnly: true },
  'POST /orgs/:orgId/api-keys': {
    personOnly: true,
    body: () => ({ name: 'pwned', scopes: ['org.read'], expiresInDays: 1 }),
  },
  'POST /orgs/:orgId/api-keys/:keyId/revoke': { personOnly: true, body: () => ({}) },
  'GET /orgs/:orgId/audit': { personOnly: true },
  'POST /orgs/:orgId/audit/verify': { personOnly: true, body: () => ({}) },
  'GET /orgs/:orgId/review': { personOnly: true },
  'POST /orgs/:orgId/review/sign-off': { personOnly: true, body: () => ({ note: 'pwned' }) },
  'GET /orgs/:orgId/security-notices': { personOnly: true },
  'GET /orgs/:orgId/connections': { personOnly: true },
  'POST /orgs/:orgId/connections': {
    personOnly: true,
    body: () => ({ providerId: 'attack', label: 'pwned', secret: 'x'.repeat(30) }),
  },
  'POST /orgs/:orgId/connections/:connectionId/secret': { personOnly: true, body: () => ({ secret: 'y'.repeat(30) }) },
  'POST /orgs/:orgId/connections/:connectionId/check': { personOnly: true, body: () => ({}) },
  'POST /orgs/:orgId/connections/:connectionId/delete': { personOnly: true, body: () => ({}) },
  // A7: OAuth connections of the vault (a person's browser only: the flow comes back to their session).
  'POST /api/v1/orgs/:orgId/connections/oauth/start': {
    personOnly: true,
    body: () => ({ providerId: 'p', label: 'x' }),
  },
  'POST /orgs/:orgId/connections/oauth/start': { personOnly: true, body: () => ({ providerId: 'p', label: 'x' }) },
  'POST /orgs/:orgId/connections/:connectionId/oauth/disconnect': { personOnly: true, body: () => ({}) },
};

/** Routes with an id that no organization owns, and why they are not in the attack table. */
const NOT_ORG_OWNED: Record<string, string> = {
  'DELETE /api/v1/sessions/:id': "a person's own session (the [S4] suite tries another person's ids)",
  'POST /account/sessions/:id/revoke': "a person's own session (same service as above)",
  'PATCH /api/v1/account/passkeys/:id': "a person's own passkey (the [A5] suite tries another person's ids)",
  'DELETE /api/v1/account/passkeys/:id': "a person's own passkey (same service as above)",
  'POST /account/passkeys/:id/rename': "a person's own passkey (same service as above)",
  'POST /account/passkeys/:id/delete': "a person's own passkey (same service as above)",
  'POST /sign-in/external/:provider': 'an upstream OpenID provider the operator configured (the [A7] suite)',
  'GET /sign-in/external/:provider/callback': "a flow found by its state and the browser's cookie (the [A7] suite)",
  'POST /account/external/:provider/link': "links the person's own account, after step-up (the [A7] suite)",
  'POST /account/external/:id/remove': "a person's own linked identity (the [A7] suite tries another person's)",
  'GET /dev/mailbox/:id': 'dev mode only; the instance-wide dev mailbox',
  'GET /oidc/interaction/:uid': "a sign-in's own interaction, found by its signed cookie (the [A10] suite)",
  'POST /oidc/interaction/:uid': "a sign-in's own interaction; it offers only the person's own organizations",
  'GET /oidc/*': 'the OpenID provider: client-authenticated protocol endpoints, no organization ids',
  'POST /oidc/*': 'the OpenID provider (same as above)',
  'GET /api/v1/operator/clients/:id':
    "an OpenID client: the operator's, above every organization; operator tokens only (the [A10] operator suite)",
  'DELETE /api/v1/operator/clients/:id': 'an OpenID client (same as above)',
  'POST /operator/jobs/:name/run':
    "a scheduled job, found by its name: the deployment's, above every organization; console operators only ([X8])",
  'GET /operator/disclosure/:id':
    'a vulnerability report: system data, above every organization; operator console only (the [X3] suite)',
  'POST /operator/disclosure/:id/status': 'a vulnerability report (same as above)',
  'POST /operator/disclosure/:id/notes': 'a vulnerability report (same as above)',
  'GET /status/incidents/:id': 'a public incident on the status page, the same for everyone (X2)',
  'GET /operator/status/components/:id':
    "a status page component: the operator's, above every organization; console operators only (the [X2] suite)",
  'POST /operator/status/components/:id': 'a status page component (same as above)',
  'POST /operator/status/components/:id/up': 'a status page component (same as above)',
  'POST /operator/status/components/:id/down': 'a status page component (same as above)',
  'POST /operator/status/components/:id/remove': 'a status page component (same as above)',
  'POST /operator/status/components/:id/probes': 'a status page component (same as above)',
  'POST /operator/status/probes/:id/remove': "a status component's probe (same as above)",
  'GET /operator/incidents/:id':
    "an incident: the operator's, above every organization; console accounts only (the [X1] suite)",
  'POST /operator/incidents/:id/updates': 'an incident (same as above)',
  'POST /operator/incidents/:id/phase': 'an incident (same as above)',
  'POST /operator/incidents/:id/resolve': 'an incident (same as above)',
  'POST /operator/incidents/:id/report': 'an incident (same as above)',
  'POST /operator/incidents/:id/confirm': 'an incident (same as above)',
  'POST /operator/incidents/:id/breach': 'an incident (same as above)',
  'POST /operator/incidents/:id/notify-orgs': 'an incident (same as above)',
  'POST /operator/incidents/:id/notifications/:key': 'an incident (same as above)',
  'GET /api/v1/operator/incidents/:id': 'an incident (same as above); operator tokens only',
  'GET /api/v1/operator/vault/providers/:id':
    "a connection provider: the operator's, above every organization; operator tokens only (the vault's [T3] suite)",
  'PUT /api/v1/operator/vault/providers/:id': 'a connection provider (same as above)',
  'DELETE /api/v1/operator/vault/providers/:id': 'a connection provider (same as above)',
  'POST /operator/connections/:id/remove': 'a connection provider (same as above); console operators only',
  'GET /static/*': 'static files',
  'HEAD /static/*': 'static files',
  'GET /static/pico/*': 'static files',
  'HEAD /static/pico/*': 'static files',
};

let t: TestApp;
let world: World;
let attacker: TestClient;
let victim: TestClient;
/** A's API key with every scope its owner could grant. */
let attackerKey: string;

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  attacker = await helpers.signedIn(await helpers.verified());
  const victimEmail = await helpers.verified();
  victim = await helpers.signedIn(victimEmail);
  const orgA = (await attacker.api('POST', '/api/v1/orgs', { name: 'A' })).json().id;
  const orgB = (await victim.api('POST', '/api/v1/orgs', { name: 'B' })).json().id;
  const memberEmail = await helpers.verified();
  const member = await helpers.signedIn(memberEmail);
  await victim.api('POST', `/api/v1/orgs/${orgB}/invitations`, { email: memberEmail, role: 'member' });
  const mail = await t.mailTo(memberEmail, /invited/);
  const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(mail.text)!;
  await member.api('POST', '/api/v1/invitations/accept', { org, token });
  const invitationOfB = (
    await victim.api('POST', `/api/v1/orgs/${orgB}/invitations`, { email: freshEmail(), role: 'viewer' })
  ).json().id;
  const keyOfB = (
    await victim.api('POST', `/api/v1/orgs/${orgB}/api-keys`, { name: 'B', scopes: ['org.read'], expiresInDays: 30 })
  ).json().info.id;
  attackerKey = (
    await attacker.api('POST', `/api/v1/orgs/${orgA}/api-keys`, {
      name: 'A',
      scopes: permissions(),
      expiresInDays: 30,
    })
  ).json().key;
  const connectionOfB = await oauthConnectionOf(orgB);
  world = {
    connectionOfB,
    orgA,
    orgB,
    memberOfB: (await member.api('GET', '/api/v1/me')).json().user.id,
    ownerOfB: (await victim.api('GET', '/api/v1/me')).json().user.id,
    invitationOfB,
    keyOfB,
  };
});
afterAll(() => t.close());

/** An OAuth connection of the organization as the callback leaves it (its provider, row and a sealed token). */
async function oauthConnectionOf(orgId: string): Promise<string> {
  const now = t.clock.now();
  await t.db.withSystem((tx) =>
    upsertOauthProvider(tx, parseKeyring(t.config.masterKeys!), {
      id: 'p',
      name: 'P',
      allowedHosts: ['api.example.com'],
      authorizationEndpoint: 'https://auth.example.com/authorize',
      tokenEndpoint: 'https://auth.example.com/token',
      clientId: 'c',
      scopes: 'read',
      now,
      dev: true,
    }),
  );
  return t.db.withTenant(orgId, async (tx) => {
    const { id } = await tx
      .insertInto('vault_connections')
      .values({
        org_id: orgId,
        provider_id: 'p',
        label: 'B',
        kind: 'oauth',
        status: 'valid',
        mask: 'at…abcd',
        fingerprint: '0123456789ab',
        token_expires_at: new Date(now.getTime() + 3600_000),
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('vault_secrets')
      .values({ connection_id: id, org_id: orgId, field: 'access_token', sealed: 'x' })
      .execute();
    return id;
  });
}

/** Everything of B's an attack could change, read as B's owner sees it and straight from the database. */
async function snapshotOfB(): Promise<string> {
  const rows = await t.db.withTenant(world.orgB, async (tx) => ({
    org: await tx.selectFrom('organizations').selectAll().execute(),
    members: await tx.selectFrom('memberships').selectAll().orderBy('user_id').execute(),
    invitations: await tx.selectFrom('invitations').selectAll().orderBy('id').execute(),
    keys: await tx.selectFrom('api_keys').selectAll().orderBy('id').execute(),
    reviews: await tx.selectFrom('access_reviews').selectAll().orderBy('id').execute(),
    audit: await tx.selectFrom('audit_heads').selectAll().execute(),
    connections: await tx.selectFrom('vault_connections').selectAll().orderBy('id').execute(),
    secrets: await tx.selectFrom('vault_secrets').selectAll().orderBy('connection_id').execute(),
    orgKey: await tx.selectFrom('org_keys').selectAll().execute(),
  }));
  return JSON.stringify(rows);
}

function fill(route: string, w: World, own: boolean): string {
  const [, path] = route.split(' ') as [string, string];
  return (path.endsWith('/audit/export') ? `${path}?format=jsonl` : path)
    .replace(':orgId', own ? w.orgA : w.orgB)
    .replace(':userId', w.memberOfB)
    .replace(':invitationId', w.invitationOfB)
    .replace(':keyId', w.keyOfB)
    .replace(':connectionId', w.connectionOfB);
}

describe('cross-tenant attacks (O2)', () => {
  it('[O2] every route with an id parameter has an attack case or a stated reason', () => {
    const withIds = [
      ...new Set(
        t.app.routeTable.filter((r) => r.url.includes(':') || r.url.includes('*')).map((r) => `${r.method} ${r.url}`),
      ),
    ];
    expect(withIds.length).toBeGreaterThan(5);
    const uncovered = withIds.filter((r) => !(r in ORG_ROUTES) && !(r in NOT_ORG_OWNED) && !r.startsWith('HEAD '));
    expect(uncovered, 'routes with ids but no attack case').toEqual([]);
    const stale = Object.keys(ORG_ROUTES).filter((r) => !withIds.includes(r));
    expect(stale, 'cases for routes that no longer exist').toEqual([]);
  });

  for (const [route, c] of Object.entries(ORG_ROUTES)) {
    const [method] = route.split(' ') as [string];
    it(`[O2] ${route}: org A's owner and org A's API key get 404 for org B's ids, and B is unchanged`, async () => {
      const before = await snapshotOfB();
      const targets = /:(userId|invitationId|keyId|connectionId)/.test(route) ? [true, false] : [false];
      for (const own of targets) {
        // own = A's organization in the path with B's object ids; otherwise B's organization outright.
        const url = fill(route, world, own);
        const where = `${route} (${own ? "A's org, B's object" : "B's org"})`;
        const res = await attacker.api(method, url, c.body?.(world));
        expect(res.statusCode, `session: ${where}`).toBe(404);
        expect(res.json().error.code).toBe('not_found');
        const byKey = await t.app.inject({
          method: method as 'GET',
          url,
          payload: c.body?.(world) as object,
          headers: { authorization: `Bearer ${attackerKey}` },
        });
        expect(byKey.statusCode, `API key: ${where}`).toBe(c.personOnly ? 401 : 404);
      }
      expect(await snapshotOfB()).toBe(before);
    });
  }

  it("[O2] a missing id answers exactly like another tenant's id", async () => {
    const missing = await attacker.api('GET', '/api/v1/orgs/00000000-0000-4000-8000-000000000001');
    const foreign = await attacker.api('GET', `/api/v1/orgs/${world.orgB}`);
    expect({
      status: missing.statusCode,
      code: missing.json().error.code,
      message: missing.json().error.message,
    }).toEqual({
      status: foreign.statusCode,
      code: foreign.json().error.code,
      message: foreign.json().error.message,
    });
  });

  it('[O2] the victim still sees their own organization intact', async () => {
    expect((await victim.api('GET', `/api/v1/orgs/${world.orgB}`)).json()).toMatchObject({ name: 'B', role: 'owner' });
    expect((await victim.api('GET', `/api/v1/orgs/${world.orgB}/members`)).json().members).toHaveLength(2);
  });
});

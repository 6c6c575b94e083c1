import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { API_TYPES_FILE, generateApiTypes } from '../../../scripts/sdk-api-types.js';
import { accounts, PASSWORD } from '../../../test/helpers/accounts.js';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { freePort } from '../../../test/helpers/process.js';
import {
  createRampartClient,
  RampartApiError,
  type RampartClient,
  type RampartErrorCode,
  type ResponseBody,
} from '../src/index.js';

/*
 * A10: the SDK's typed client for the JSON API, against a real Rampart listening on loopback (the
 * client goes through fetch and HTTP, as a product's backend would), its types generated from the
 * OpenAPI document of the same routes.
 */

let t: TestApp;
let base: string;

beforeAll(async () => {
  t = await createTestApp({}, undefined, { realTime: true });
  const port = await freePort();
  await t.app.listen({ port, host: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => t?.close());

/** A verified person signed in through the client itself (POST /api/v1/signin sets the session it keeps). */
async function signedInClient(): Promise<{ client: RampartClient; email: string }> {
  const email = await accounts(t).verified();
  const client = createRampartClient({ baseUrl: base, userAgent: 'rampart-sdk-test' });
  const signedIn = await client.request('POST', '/api/v1/signin', { body: { email, password: PASSWORD } });
  expect(signedIn).toMatchObject({ user: { email, emailVerified: true }, secondFactorRequired: false });
  expect(client.sessionToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  return { client, email };
}

describe('@rampart/node typed API client', () => {
  it('[A10] the committed api-types.ts is what the current OpenAPI document generates', async () => {
    const committed = readFileSync(API_TYPES_FILE, 'utf8');
    expect(committed, 'stale: run `npm run sdk:types`').toBe(await generateApiTypes());
  });

  it('[A10] typed client with a session: /api/v1/me, creating an org (CSRF handled), reading it back', async () => {
    const { client, email } = await signedInClient();
    const me = await client.request('GET', '/api/v1/me');
    expectTypeOf(me.user.emailVerified).toEqualTypeOf<boolean>();
    expectTypeOf(me.session.userAgent).toEqualTypeOf<string | null>();
    expect(me.user.email).toBe(email);
    expect(me.session).toMatchObject({ current: true, userAgent: 'rampart-sdk-test' });

    // A state-changing request of a session: the client fetches the CSRF token bound to it.
    const created = await client.send('POST', '/api/v1/orgs', { body: { name: 'Typed Co' } });
    expect(created.status).toBe(201);
    if (created.status !== 201) throw new Error('unreachable');
    expectTypeOf(created.body.role).toEqualTypeOf<'owner' | 'admin' | 'member' | 'viewer'>();
    expect(created.body).toMatchObject({ name: 'Typed Co', role: 'owner', requireMfa: false });
    expect(created.headers.get('x-request-id')).toBeTruthy();

    const orgId = created.body.id;
    const org = await client.request('GET', '/api/v1/orgs/{orgId}', { params: { orgId } });
    expect(org).toMatchObject({ id: orgId, name: 'Typed Co', role: 'owner' });
    const renamed = await client.request('PATCH', '/api/v1/orgs/{orgId}', {
      params: { orgId },
      body: { name: 'Typed Company' },
    });
    expectTypeOf(renamed).toEqualTypeOf<undefined>();
    expect(renamed).toBeUndefined();
    const { orgs } = await client.request('GET', '/api/v1/orgs');
    expect(orgs.map((o) => o.name)).toEqual(['Typed Company']);

    const audit = await client.request('GET', '/api/v1/orgs/{orgId}/audit', { params: { orgId }, query: { limit: 5 } });
    expectTypeOf(audit.next).toEqualTypeOf<number | null>();
    expect(audit.events.map((e) => e.action)).toContain('org.renamed');
  });

  it('[A10] typed client with an organization API key: reads members, refused outside its scopes', async () => {
    const { client, email } = await signedInClient();
    const org = await client.request('POST', '/api/v1/orgs', { body: { name: 'Keyed' } });
    const { key, info } = await client.request('POST', '/api/v1/orgs/{orgId}/api-keys', {
      params: { orgId: org.id },
      body: { name: 'backend', scopes: ['org.read', 'members.read'], expiresInDays: 30 },
    });
    expect(info.scopes).toEqual(['org.read', 'members.read']);

    const backend = createRampartClient({ baseUrl: `${base}/`, auth: { apiKey: key } });
    const { members } = await backend.request('GET', '/api/v1/orgs/{orgId}/members', { params: { orgId: org.id } });
    type Members = ResponseBody<'GET', '/api/v1/orgs/{orgId}/members'>['members'];
    expectTypeOf(members).toEqualTypeOf<Members>();
    expect(members).toEqual([expect.objectContaining({ email, role: 'owner', invitedBy: null })]);

    // Outside the key's scopes: Rampart's error, typed.
    const refused = await backend
      .request('PATCH', '/api/v1/orgs/{orgId}', { params: { orgId: org.id }, body: { name: 'Nope' } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RampartApiError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('[A10] typed errors: 401 unauthenticated and invalid_api_key with the request id, 400 with fields', async () => {
    const anonymous = createRampartClient({ baseUrl: base });
    const noSession = (await anonymous.request('GET', '/api/v1/me').catch((e: unknown) => e)) as RampartApiError;
    expect(noSession).toBeInstanceOf(RampartApiError);
    expectTypeOf(noSession.code).toEqualTypeOf<RampartErrorCode | 'unexpected_response'>();
    expect(noSession).toMatchObject({ status: 401, code: 'unauthenticated', message: expect.any(String) });
    expect(noSession.requestId).toMatch(/\S+/);

    const badKey = createRampartClient({ baseUrl: base, auth: { apiKey: 'rmp_live_0123456789abcdef_nope' } });
    const orgId = '7d3f8f7e-2b7a-4a7e-9a57-1d2b0f6c9e11';
    const refused = (await badKey
      .request('GET', '/api/v1/orgs/{orgId}', { params: { orgId } })
      .catch((e: unknown) => e)) as RampartApiError;
    expect(refused).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(refused.requestId).toMatch(/\S+/);

    const invalid = (await anonymous
      .request('POST', '/api/v1/signin', { body: { email: 'not an address', password: 'x' } })
      .catch((e: unknown) => e)) as RampartApiError;
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(invalid.fields?.map((f) => f.field)).toContain('email');
  });

  it('[A10] signing out through the client forgets the session; the next call is a typed 401', async () => {
    const { client } = await signedInClient();
    await client.request('POST', '/api/v1/signout');
    expect(client.sessionToken).toBeUndefined();
    await expect(client.request('GET', '/api/v1/me')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
  });
});

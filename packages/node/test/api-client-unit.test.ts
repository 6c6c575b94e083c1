import { describe, expect, it } from 'vitest';
import { apiTypesSource, typeOf } from '../../../scripts/sdk-api-types.js';
import { type ApiFetch, createRampartClient, RampartApiError } from '../src/index.js';

/* A10: the generator's JSON Schema → TypeScript mapping, and the client's HTTP details, without a server. */

describe('API types generator', () => {
  it('[A10] maps the JSON Schema TypeBox emits', () => {
    expect(typeOf({ type: 'string', format: 'uuid' })).toBe('string');
    expect(typeOf({ type: 'integer', nullable: true })).toBe('number | null');
    expect(typeOf({ type: ['string', 'null'] })).toBe('string | null');
    expect(typeOf({ const: 'public-key' })).toBe('"public-key"');
    expect(typeOf({ enum: ['a', 'b'] })).toBe('"a" | "b"');
    expect(typeOf({ anyOf: [{ type: 'string', enum: ['owner'] }, { type: 'null' }] })).toBe('"owner" | null');
    expect(typeOf({ anyOf: [{ type: 'string' }, {}] })).toBe('unknown');
    expect(typeOf({ type: 'array', items: { type: 'boolean' } })).toBe('Array<boolean>');
    expect(typeOf({ type: 'array', items: [{ type: 'string' }, { type: 'number' }] })).toBe('[string, number]');
    expect(typeOf({ $ref: '#/components/schemas/Org' })).toBe('Components["Org"]');
    expect(typeOf(undefined)).toBe('unknown');
    expect(
      typeOf({
        type: 'object',
        required: ['id'],
        properties: { id: { type: 'string', description: 'its id' }, 'x-y': { type: 'number' } },
        additionalProperties: false,
      }),
    ).toBe('{\n  /** its id */\n  id: string;\n  "x-y"?: number;\n}');
    expect(typeOf({ type: 'object', additionalProperties: {} })).toBe('{\n  [key: string]: unknown;\n}');
    expect(typeOf({ type: 'object', additionalProperties: false })).toBe('Record<string, never>');
    expect(() => typeOf({ type: 'file' })).toThrow(/unsupported/);
  });

  it('[A10] one entry per path and method: params, query (optional unless one is required), body, responses', () => {
    const source = apiTypesSource({
      openapi: '3.0.3',
      info: { title: 'T', version: '1' },
      paths: {
        '/a/{id}': {
          get: {
            summary: 'One',
            parameters: [
              { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
              { name: 'limit', in: 'query', schema: { type: 'integer' } },
            ],
            responses: {
              200: { content: { 'application/json': { schema: { type: 'object', properties: {} } } } },
              204: {},
            },
          },
          post: {
            requestBody: { required: true, content: { 'application/json': { schema: { type: 'boolean' } } } },
            responses: { 200: {} },
          },
        },
      },
    });
    expect(source).toContain('"/a/{id}": {');
    expect(source).toMatch(/GET: \{\n\s+params: \{\n\s+id: string;\n\s+\};\n\s+query\?: \{\n\s+limit\?: number;/);
    expect(source).toMatch(/204: undefined;/);
    expect(source).toMatch(/POST: \{\n\s+body: boolean;\n\s+responses: \{\n\s+200: string;/);
    expect(source).toContain('export interface RampartErrorStatuses {');
    expect(source).toMatch(/ {2}unauthenticated: 401;/);
  });
});

describe('API client over a fake fetch', () => {
  const calls: Array<{ url: string; method: string; headers: Headers; body?: string }> = [];
  const answer =
    (status: number, body: string, headers: Record<string, string> = {}): ApiFetch =>
    async (url, init) => {
      calls.push({ url, method: init.method, headers: init.headers, body: init.body });
      return new Response(status === 204 ? null : body, { status, headers });
    };

  it('[A10] fills path parameters (encoded), the query string and the JSON body; 204 is undefined', async () => {
    calls.length = 0;
    const client = createRampartClient({ baseUrl: 'https://auth.example.com/base/', fetch: answer(204, '') });
    const out = await client.request('GET', '/api/v1/orgs/{orgId}/audit', {
      params: { orgId: 'a/b c' },
      query: { limit: 5, action: undefined },
    });
    expect(out).toBeUndefined();
    expect(calls[0]!.url).toBe('https://auth.example.com/base/api/v1/orgs/a%2Fb%20c/audit?limit=5');
    expect(calls[0]!.headers.get('content-type')).toBeNull(); // no body, no content type (Fastify refuses empty JSON)
    const keyed = createRampartClient({ baseUrl: 'https://a.example', fetch: answer(204, ''), auth: { apiKey: 'k' } });
    await keyed.request('PATCH', '/api/v1/orgs/{orgId}', { params: { orgId: 'o' }, body: { name: 'N' } });
    expect(calls[1]).toMatchObject({ method: 'PATCH', body: '{"name":"N"}' });
    expect(calls[1]!.headers.get('authorization')).toBe('Bearer k');
    expect(calls[1]!.headers.get('x-csrf-token')).toBeNull(); // an API key needs none
  });

  it('[A10] the types refuse a wrong path, method, missing params or a wrong body (checked by tsc)', async () => {
    const client = createRampartClient({ baseUrl: 'https://a.example', fetch: answer(204, '') });
    const orgId = 'o';
    // @ts-expect-error: no such path
    await client.request('GET', '/api/v1/nope').catch(() => undefined);
    // @ts-expect-error: /api/v1/me has no DELETE
    await client.request('DELETE', '/api/v1/me').catch(() => undefined);
    // @ts-expect-error: the path has {orgId}: params are required
    await client.request('GET', '/api/v1/orgs/{orgId}').catch(() => undefined);
    // @ts-expect-error: name must be a string
    await client.request('PATCH', '/api/v1/orgs/{orgId}', { params: { orgId }, body: { name: 1 } });
    await client.request('PATCH', '/api/v1/orgs/{orgId}/members/{userId}', {
      params: { orgId, userId: 'u' },
      // @ts-expect-error: not a role
      body: { role: 'emperor' },
    });
    expect(calls.length).toBeGreaterThan(0);
  });

  it('[A10] an answer without Rampart error body is unexpected_response; Retry-After is kept', async () => {
    const html = createRampartClient({ baseUrl: 'https://a.example', fetch: answer(502, '<html>', {}) });
    await expect(html.request('GET', '/api/v1/me')).rejects.toMatchObject({ status: 502, code: 'unexpected_response' });
    const limited = createRampartClient({
      baseUrl: 'https://a.example',
      fetch: answer(429, JSON.stringify({ error: { code: 'rate_limited', message: 'Slow down', requestId: 'r1' } }), {
        'retry-after': '30',
        'content-type': 'application/json',
      }),
    });
    const err = (await limited.request('GET', '/api/v1/me').catch((e: unknown) => e)) as RampartApiError;
    expect(err).toBeInstanceOf(RampartApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'Slow down', requestId: 'r1' });
    expect(err.retryAfterSec).toBe(30);
  });

  it('[A10] session: a CSRF token per session, a new one after csrf_failed; the rotated cookie followed', async () => {
    const seen: Array<{ path: string; cookie: string | null; csrf: string | null }> = [];
    let tokens = 0;
    let refuseNext = false;
    const server: ApiFetch = async (url, init) => {
      const path = new URL(url).pathname;
      seen.push({ path, cookie: init.headers.get('cookie'), csrf: init.headers.get('x-csrf-token') });
      const json = { 'content-type': 'application/json' };
      if (path === '/api/v1/csrf-token')
        return new Response(JSON.stringify({ token: `t${++tokens}` }), { headers: json });
      if (refuseNext) {
        refuseNext = false;
        const body = { error: { code: 'csrf_failed', message: 'no', requestId: 'x' } };
        return new Response(JSON.stringify(body), { status: 403, headers: json });
      }
      // The session rotates on this answer.
      return new Response(null, {
        status: 204,
        headers: { 'set-cookie': '__Host-rampart_session=s2; Path=/; HttpOnly; Secure' },
      });
    };
    const client = createRampartClient({ baseUrl: 'https://a.example', fetch: server, auth: { sessionToken: 's1' } });
    await client.request('POST', '/api/v1/signout');
    expect(client.sessionToken).toBe('s2');
    refuseNext = true;
    await client.request('POST', '/api/v1/signout');
    expect(seen.map((s) => `${s.path} ${s.cookie} ${s.csrf}`)).toEqual([
      '/api/v1/csrf-token __Host-rampart_session=s1 null',
      '/api/v1/signout __Host-rampart_session=s1 t1',
      '/api/v1/csrf-token __Host-rampart_session=s2 null', // a new session: a new token
      '/api/v1/signout __Host-rampart_session=s2 t2',
      '/api/v1/csrf-token __Host-rampart_session=s2 null', // refused: once more with a fresh one
      '/api/v1/signout __Host-rampart_session=s2 t3',
    ]);
  });
});

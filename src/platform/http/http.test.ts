import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { AppError } from '../errors.js';
import { BODY_LIMIT } from '../../app.js';
import { CSP, createNoncePool } from './security-headers.js';

let t: TestApp;
const SECRET = 'hunter2 very secret';
const SESSION = 'Xq3vB8kN2pLm9RtY4wZc7HjK1sDf6GaE0uIo5yTr';

beforeAll(async () => {
  t = await createTestApp({}, (app) => {
    app.post(
      '/api/v1/echo',
      {
        schema: {
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 50 }), count: Type.Integer({ minimum: 0 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => request.body,
    );
    app.get('/api/v1/boom', { schema: {} }, async () => {
      throw new Error(
        `could not use token "${SECRET}" for alice@example.com: Key (email)=(alice@example.com) exists; ` +
          `session ${SESSION}`,
      );
    });
    app.get('/boom', { schema: {} }, async () => {
      throw new Error('kaboom');
    });
    app.get('/api/v1/teapot', { schema: {} }, async () => {
      throw new AppError({ code: 'teapot', status: 418, message: 'I am a teapot.' });
    });
  });
});
afterAll(() => t.close());

const html = { accept: 'text/html,application/xhtml+xml' };

describe('security headers', () => {
  it('[R2] every response carries the security headers: page, JSON, 404, 500 and static file', async () => {
    for (const [url, headers] of [
      ['/', html],
      ['/healthz', {}],
      ['/nope', html],
      ['/api/v1/boom', {}],
      ['/static/rampart.css', {}],
    ] as const) {
      const res = await t.app.inject({ url, headers });
      const h = res.headers;
      expect(h['content-security-policy'], url).toMatch(/default-src 'none'/);
      expect(h['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(h['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(h['x-frame-options']).toBe('DENY');
      expect(h['x-content-type-options']).toBe('nosniff');
      expect(h['referrer-policy']).toBe('same-origin');
      expect(h['permissions-policy']).toMatch(/camera=\(\)/);
      expect(h['cross-origin-opener-policy']).toBe('same-origin');
      expect(h['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("[R2] scripts run only with this response's nonce, and the nonce changes every response", async () => {
    const a = await t.app.inject({ url: '/', headers: html });
    const b = await t.app.inject({ url: '/', headers: html });
    const nonceOf = (csp: string) => /script-src 'self' 'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
    const nonceA = nonceOf(String(a.headers['content-security-policy']));
    expect(nonceA).toBeDefined();
    expect(nonceA).not.toBe(nonceOf(String(b.headers['content-security-policy'])));
    const scripts = [...a.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonceA}"`);
    expect(a.body).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/); // no inline script bodies at all
    expect(a.body).not.toMatch(/\sstyle=/);
  });

  it('[R2] a response that is not a page gets the policy without any nonce, and the rest of the set', async () => {
    const res = await t.app.inject({ url: '/healthz' });
    expect(res.headers['content-security-policy']).toBe(CSP);
    expect(CSP).toBe(
      "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';" +
        "connect-src 'self';manifest-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';" +
        "object-src 'none'",
    );
    expect(res.headers).toMatchObject({
      'cross-origin-resource-policy': 'same-origin',
      'origin-agent-cluster': '?1',
      'x-dns-prefetch-control': 'off',
      'x-download-options': 'noopen',
      'x-permitted-cross-domain-policies': 'none',
      'x-xss-protection': '0',
      'cache-control': 'no-store',
    });
    expect(res.headers['strict-transport-security']).toBeUndefined(); // plain HTTP here (T2: HTTPS only)
  });

  it('[R2] a page 404 gets a nonce too; the API reference keeps its own policy', async () => {
    const page = await t.app.inject({ url: '/nope', headers: html });
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self' 'nonce-[0-9a-f]{32}';style-src 'self';/);
    const docs = await t.app.inject({ url: '/docs', headers: html });
    expect(docs.headers['content-security-policy']).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(docs.headers['content-security-policy']).not.toMatch(/nonce-|script-src[^;]*unsafe/);
    expect(docs.headers['x-frame-options']).toBe('DENY');
  });

  it('[R2] nonces are cut from a pooled random buffer, 16 bytes each, and never handed out twice', () => {
    let fills = 0;
    let counter = 0;
    const draw = createNoncePool((buffer) => {
      fills++;
      for (let i = 0; i < buffer.length; i += 4) buffer.writeUInt32BE(counter++, i); // distinct words
    });
    const nonces = Array.from({ length: 600 }, draw);
    expect(new Set(nonces).size).toBe(600);
    for (const n of nonces) expect(n).toMatch(/^[0-9a-f]{32}$/);
    expect(fills).toBe(3); // 256 nonces per 4 KiB fill
    const real = createNoncePool();
    expect(new Set(Array.from({ length: 1000 }, real)).size).toBe(1000);
  });

  it('[R2] a client cannot choose its request id', async () => {
    const res = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'attacker-chosen' } });
    expect(res.headers['x-request-id']).not.toBe('attacker-chosen');
  });
});

describe('errors', () => {
  it('[R5] a schema failure answers 400 invalid_request naming each offending field', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: '', count: -1 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.requestId).toBe(res.headers['x-request-id']);
    expect(body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(['count', 'name']);
  });

  it('[R5] unknown fields are rejected, not silently dropped', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      payload: { name: 'a', count: 1, isAdmin: true },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual([{ field: 'isAdmin', message: 'is not an accepted field' }]);
  });

  it('[R5] a valid body passes through unchanged', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/echo', payload: { name: 'a', count: 1 } });
    expect(res.json()).toEqual({ name: 'a', count: 1 });
  });

  it('[R5] an oversize body answers 413 payload_too_large', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      payload: { name: 'x'.repeat(BODY_LIMIT), count: 1 },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
  });

  it('[R5] malformed JSON answers 400 invalid_json without quoting the input', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": s3cr3t-value',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_json');
    expect(res.body).not.toContain('s3cr3t');
  });

  it('[R5] an unsupported content type answers 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('unsupported_media_type');
  });

  it('[R6] unknown routes answer 404 not_found, as JSON for APIs and as a page for browsers', async () => {
    const api = await t.app.inject({ url: '/api/v1/nothing-here' });
    expect(api.statusCode).toBe(404);
    expect(api.json().error).toEqual({
      code: 'not_found',
      message: expect.any(String),
      requestId: api.headers['x-request-id'],
    });
    const page = await t.app.inject({ url: '/nothing-here', headers: html });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain(String(page.headers['x-request-id']));
  });

  it('[R6] a path the router refuses (parameter too long, undecodable) gets our error shape and headers', async () => {
    const long = await t.app.inject({ url: `/orgs/${'a'.repeat(200)}/members`, headers: html });
    expect(long.statusCode).toBe(414);
    expect(long.json().error).toEqual({
      code: 'uri_too_long',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(long.headers['x-request-id']).toBe(long.json().error.requestId);
    expect(long.headers['content-security-policy']).toBe(CSP);
    expect(long.headers['x-frame-options']).toBe('DENY');
    const bad = await t.app.inject({ url: '/orgs/%zz/members' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('bad_request');
  });

  it('[R6] an unexpected error answers 500 with only a request id; the stack goes to the log', async () => {
    const res = await t.app.inject({ url: '/api/v1/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body).toEqual({
      error: { code: 'internal_error', message: expect.any(String), requestId: res.headers['x-request-id'] },
    });
    expect(res.body).not.toMatch(/hunter2|alice|at .*\.ts|Error:/);
    const logged = t
      .logs()
      .split('\n')
      .filter((l) => l.includes(String(res.headers['x-request-id'])) && l.includes('unexpected error'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('http.test.ts'); // the stack is there
    for (const leaked of [SECRET, SESSION, 'alice@example.com']) expect(t.logs()).not.toContain(leaked);

    const page = await t.app.inject({ url: '/boom', headers: html });
    expect(page.statusCode).toBe(500);
    expect(page.body).not.toContain('kaboom');
    expect(page.body).toContain(String(page.headers['x-request-id']));
  });

  it('[R6] a feature error keeps its own stable code and status', async () => {
    const res = await t.app.inject({ url: '/api/v1/teapot' });
    expect(res.statusCode).toBe(418);
    expect(res.json().error.code).toBe('teapot');
  });

  it('[R5] every route has a schema, and a route without one cannot be registered', async () => {
    expect(t.app.routeTable.length).toBeGreaterThan(5);
    await expect(
      createTestApp({}, (app) => {
        app.get('/no-schema', async () => 'x');
      }),
    ).rejects.toThrow(/route GET \/no-schema has no schema/);
  });

  it('[R5] pages that take no input refuse unknown query parameters', async () => {
    const res = await t.app.inject({ url: '/?debug=1', headers: html });
    expect(res.statusCode).toBe(400);
  });
});

describe('probes', () => {
  it('[platform] /healthz answers while the process lives; /readyz checks the database and migrations', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({
      status: 'ready',
      database: 'ok',
      migrations: 'ok',
    });
  });
});

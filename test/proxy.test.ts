import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

const HSTS = 'max-age=31536000; includeSubDomains';
const html = { accept: 'text/html' };

describe('behind a TLS-terminating proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RAMPART_TRUSTED_PROXIES: '10.0.0.1', RAMPART_BASE_URL: 'https://auth.example.com' });
  }, 120_000);
  afterAll(() => t?.close());

  it('[T2] X-Forwarded-Proto: https from the trusted proxy is served, with HSTS', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/',
      remoteAddress: '10.0.0.1',
      headers: { ...html, 'x-forwarded-proto': 'https' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe(HSTS);
  });

  it(
    '[T2] X-Forwarded-Proto: http from the trusted proxy is redirected (308) to the configured HTTPS ' + 'origin',
    async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: '/some/path?x=1',
        remoteAddress: '10.0.0.1',
        headers: { ...html, 'x-forwarded-proto': 'http', host: 'evil.example', 'x-forwarded-host': 'evil.example' },
      });
      expect(res.statusCode).toBe(308);
      expect(res.headers.location).toBe('https://auth.example.com/some/path?x=1');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it('[T2] X-Forwarded-Proto from an untrusted address is ignored: plain HTTP, 308, no HSTS', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const res = await t.app.inject({
        method,
        url: '/',
        remoteAddress: '203.0.113.5',
        headers: { ...html, 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode, method).toBe(308);
      expect(res.headers.location).toBe('https://auth.example.com/');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('[T2] a request with no X-Forwarded-Proto from the trusted proxy counts as plain HTTP', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/', remoteAddress: '10.0.0.1', headers: html });
    expect(res.statusCode).toBe(308);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('[T2] the health probes answer over plain HTTP without a redirect', async () => {
    for (const url of ['/healthz', '/healthz?probe=1']) {
      const res = await t.app.inject({ method: 'GET', url, remoteAddress: '203.0.113.5' });
      expect(res.statusCode, url).not.toBe(308);
      expect(res.headers.location).toBeUndefined();
    }
    const res = await t.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.5' });
    expect(res.statusCode).toBe(200);
  });

  it('[T2] the redirect target stays on the configured origin for a protocol-relative path', async () => {
    const res = await t.app.inject({ method: 'GET', url: '//evil.example/phish', remoteAddress: '203.0.113.5' });
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toMatch(/^https:\/\/auth\.example\.com\//);
  });
});

describe('without TLS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  it('[T2] with an http base URL and no TLS, no HSTS header is sent and nothing is redirected', async () => {
    expect(t.config.tls).toBeUndefined();
    expect(t.config.baseUrl.startsWith('http:')).toBe(true);
    for (const headers of [html, { ...html, 'x-forwarded-proto': 'https' }]) {
      const res = await t.app.inject({ method: 'GET', url: '/', remoteAddress: '203.0.113.5', headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });
});

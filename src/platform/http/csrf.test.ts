import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { accounts, PASSWORD } from '../../../test/helpers/accounts.js';
import { TestClient } from '../../../test/helpers/client.js';

let t: TestApp;
let victim: TestClient;
let email: string;

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  email = await helpers.verified();
  victim = await helpers.signedIn(email);
});
afterAll(() => t.close());

const html = { accept: 'text/html' };
const stillSignedIn = async () => (await victim.api('GET', '/api/v1/me')).statusCode === 200;

describe('CSRF (R1)', () => {
  it('[R1] every page form carries a token tied to the session', async () => {
    const page = await victim.request({ url: '/account/security', headers: html });
    const tokens = [...page.body.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]);
    expect(tokens.length).toBeGreaterThan(2);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(await victim.csrf());
  });

  it('[R1] a form post without a token is refused with 403 csrf_failed and changes nothing', async () => {
    const res = await victim.request({
      method: 'POST',
      url: '/signout-everywhere',
      form: {},
      headers: { accept: 'application/json' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('csrf_failed');
    expect(await stillSignedIn()).toBe(true);
  });

  it('[R1] a wrong token, or the token of another session, is refused', async () => {
    const wrong = await victim.request({
      method: 'POST',
      url: '/signout-everywhere',
      form: { _csrf: 'x'.repeat(43) },
      headers: { accept: 'application/json' },
    });
    expect(wrong.json().error.code).toBe('csrf_failed');
    const attacker = new TestClient(t.app);
    await attacker.api('POST', '/api/v1/signin', { email, password: PASSWORD });
    const theirs = await attacker.csrf();
    const res = await victim.request({
      method: 'POST',
      url: '/signout-everywhere',
      form: { _csrf: theirs },
      headers: { accept: 'application/json' },
    });
    expect(res.statusCode).toBe(403);
    expect(await stillSignedIn()).toBe(true);
  });

  it('[R1] a cross-origin request is refused even with a valid token', async () => {
    const token = await victim.csrf();
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }]) {
      const res = await victim.request({
        method: 'POST',
        url: '/signout-everywhere',
        form: { _csrf: token },
        headers: { ...headers, accept: 'application/json' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('csrf_failed');
    }
    const crossSite = await victim.request({
      method: 'POST',
      url: '/signout-everywhere',
      form: { _csrf: token },
      headers: { origin: undefined as never, 'sec-fetch-site': 'cross-site', accept: 'application/json' },
    });
    expect(crossSite.statusCode).toBe(403);
    expect(await stillSignedIn()).toBe(true);
  });

  it('[R1] JSON API calls with the session cookie need the X-CSRF-Token header', async () => {
    const res = await victim.request({ method: 'POST', url: '/api/v1/sessions/revoke-others' });
    expect(res.statusCode).toBe(403);
    expect((await victim.api('POST', '/api/v1/sessions/revoke-others')).statusCode).toBe(200);
  });

  it('[R1] the sign-in and sign-up forms are protected by a pre-session token (login CSRF)', async () => {
    const anon = new TestClient(t.app);
    const form = await anon.request({ url: '/signin', headers: html });
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    expect(anon.cookies.has('__Host-rampart_pre')).toBe(true);
    const missing = await anon.request({
      method: 'POST',
      url: '/signin',
      form: { email, password: PASSWORD },
      headers: html,
    });
    expect(missing.statusCode).toBe(403);
    const forged = await anon.request({
      method: 'POST',
      url: '/signin',
      form: { email, password: PASSWORD, _csrf: token },
      headers: { ...html, origin: 'https://evil.example' },
    });
    expect(forged.statusCode).toBe(403);
    const ok = await anon.request({
      method: 'POST',
      url: '/signin',
      form: { email, password: PASSWORD, _csrf: token },
      headers: html,
    });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/account/security');
  });

  it('[R1] a request with no cookie of ours carries no ambient authority: only the origin is checked', async () => {
    const server = new TestClient(t.app);
    const res = await server.request({
      method: 'POST',
      url: '/api/v1/magic-links',
      payload: { email },
      headers: { origin: undefined as never },
    });
    expect(res.statusCode).toBe(202);
    const crossSite = await server.request({
      method: 'POST',
      url: '/api/v1/signin',
      payload: { email, password: PASSWORD },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.statusCode).toBe(403);
  });
});

describe('other loopback names of a dev instance (R1, issue 11)', () => {
  const navigate = (host: string, url = '/signup') => ({
    url,
    headers: { host, 'sec-fetch-mode': 'navigate', accept: 'text/html' },
  });

  it(
    '[R1] dev on a loopback base URL: a page opened at 127.0.0.1 or [::1] of its port is sent to the base ' +
      'URL, and the Origin check still refuses those origins',
    async () => {
      expect(t.config.dev).toBe(true);
      expect(t.config.baseUrl).toBe('http://localhost:3000');
      for (const host of ['127.0.0.1:3000', '[::1]:3000', '127.1.2.3:3000']) {
        const res = await t.app.inject(navigate(host, '/signin?next=%2Forgs'));
        expect(res.statusCode, host).toBe(307);
        expect(res.headers.location).toBe('http://localhost:3000/signin?next=%2Forgs');
      }
      // The target is configuration, never the request: a protocol-relative path stays on the base URL.
      expect((await t.app.inject(navigate('127.0.0.1:3000', '//evil.example/x'))).headers.location).toBe(
        'http://localhost:3000/evil.example/x',
      );

      // Left where they are: the base URL itself, another port, another host, and anything but a page navigation.
      expect((await t.app.inject(navigate('localhost:3000'))).statusCode).toBe(200);
      expect((await t.app.inject(navigate('127.0.0.1:3001'))).statusCode).toBe(200);
      expect((await t.app.inject(navigate('evil.example:3000'))).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/healthz', headers: { host: '127.0.0.1:3000' } })).statusCode).toBe(200);
      expect(
        (await t.app.inject({ url: '/api/v1/me', headers: { host: '127.0.0.1:3000', 'sec-fetch-mode': 'cors' } }))
          .statusCode,
      ).toBe(401);

      // A form posted from http://127.0.0.1:3000 is still cross-origin: the check is not loosened.
      const token = await victim.csrf();
      for (const origin of ['http://127.0.0.1:3000', 'http://[::1]:3000']) {
        const res = await victim.request({
          method: 'POST',
          url: '/signout-everywhere',
          form: { _csrf: token },
          headers: { origin, host: '127.0.0.1:3000', accept: 'application/json' },
        });
        expect(res.statusCode, origin).toBe(403);
        expect(res.json().error.code).toBe('csrf_failed');
      }
      expect(await stillSignedIn()).toBe(true);
    },
  );

  it('[R1] outside dev mode, or with a base URL that is not loopback, no address is redirected', async () => {
    const others = [
      await createTestApp({
        RAMPART_DEV: 'false',
        SMTP_URL: 'smtps://user:pw@smtp.example.com:465',
        RAMPART_BASE_URL: 'http://localhost:3000',
      }),
      await createTestApp({ RAMPART_DEV: 'true', RAMPART_BASE_URL: 'http://rampart.internal.test:3000' }),
    ];
    try {
      for (const other of others) {
        const res = await other.app.inject(navigate('127.0.0.1:3000'));
        expect(res.statusCode, other.config.baseUrl).toBe(200);
        expect(res.headers.location).toBeUndefined();
      }
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });
});

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
    const res = await victim.request({ method: 'POST', url: '/signout-everywhere', form: {}, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('csrf_failed');
    expect(await stillSignedIn()).toBe(true);
  });

  it('[R1] a wrong token, or the token of another session, is refused', async () => {
    const wrong = await victim.request({ method: 'POST', url: '/signout-everywhere', form: { _csrf: 'x'.repeat(43) }, headers: { accept: 'application/json' } });
    expect(wrong.json().error.code).toBe('csrf_failed');
    const attacker = new TestClient(t.app);
    await attacker.api('POST', '/api/v1/signin', { email, password: PASSWORD });
    const theirs = await attacker.csrf();
    const res = await victim.request({ method: 'POST', url: '/signout-everywhere', form: { _csrf: theirs }, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(403);
    expect(await stillSignedIn()).toBe(true);
  });

  it('[R1] a cross-origin request is refused even with a valid token', async () => {
    const token = await victim.csrf();
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }]) {
      const res = await victim.request({ method: 'POST', url: '/signout-everywhere', form: { _csrf: token }, headers: { ...headers, accept: 'application/json' } });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('csrf_failed');
    }
    const crossSite = await victim.request({ method: 'POST', url: '/signout-everywhere', form: { _csrf: token }, headers: { origin: undefined as never, 'sec-fetch-site': 'cross-site', accept: 'application/json' } });
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
    const missing = await anon.request({ method: 'POST', url: '/signin', form: { email, password: PASSWORD }, headers: html });
    expect(missing.statusCode).toBe(403);
    const forged = await anon.request({ method: 'POST', url: '/signin', form: { email, password: PASSWORD, _csrf: token }, headers: { ...html, origin: 'https://evil.example' } });
    expect(forged.statusCode).toBe(403);
    const ok = await anon.request({ method: 'POST', url: '/signin', form: { email, password: PASSWORD, _csrf: token }, headers: html });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/account/security');
  });

  it('[R1] a request with no cookie of ours carries no ambient authority: only the origin is checked', async () => {
    const server = new TestClient(t.app);
    const res = await server.request({ method: 'POST', url: '/api/v1/magic-links', payload: { email }, headers: { origin: undefined as never } });
    expect(res.statusCode).toBe(202);
    const crossSite = await server.request({ method: 'POST', url: '/api/v1/signin', payload: { email, password: PASSWORD }, headers: { origin: 'https://evil.example' } });
    expect(crossSite.statusCode).toBe(403);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { accounts, freshEmail, PASSWORD } from '../../test/helpers/accounts.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';

let t: TestApp;
let account: () => Promise<string>;
const fresh = freshEmail;

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  account = () => helpers.verified();
});
afterAll(() => t.close());

describe('brute-force protection (A8)', () => {
  it(
    '[A8] password guesses against one account back off, even from many addresses; the owner still gets in by ' +
      'magic link',
    async () => {
      const email = await account();
      for (let i = 0; i < 6; i++) {
        const attacker = new TestClient(t.app); // a botnet: a new address every time
        expect(
          (await attacker.api('POST', '/api/v1/signin', { email, password: `guess number ${i} here` })).statusCode,
        ).toBe(401);
      }
      const owner = new TestClient(t.app);
      const blocked = await owner.api('POST', '/api/v1/signin', { email, password: PASSWORD });
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().error.code).toBe('rate_limited');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      expect((await owner.api('POST', '/api/v1/magic-links', { email })).statusCode).toBe(202);
      const { token } = linkIn((await t.mailTo(email, /sign-in link/)).text, '/magic-link/confirm');
      const res = await owner.api('POST', '/api/v1/magic-links/consume', { token });
      expect(res.statusCode).toBe(200);
      expect((await owner.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
      // ...while the password route stays throttled for that account.
      expect(
        (await new TestClient(t.app).api('POST', '/api/v1/signin', { email, password: 'one more guess here' }))
          .statusCode,
      ).toBe(429);
    },
  );

  it('[A8] a password reset also gets the owner in while guesses are throttled', async () => {
    const email = await account();
    for (let i = 0; i < 6; i++)
      await new TestClient(t.app).api('POST', '/api/v1/signin', { email, password: `guess number ${i} here` });
    const owner = new TestClient(t.app);
    expect((await owner.api('POST', '/api/v1/password-resets', { email })).statusCode).toBe(202);
    const { token } = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password');
    expect(
      (await owner.api('POST', '/api/v1/password-resets/complete', { token, password: 'new quiet harbor lantern' }))
        .statusCode,
    ).toBe(200);
  });

  it('[A8] one address spraying passwords across many accounts is stopped per IP', { timeout: 90_000 }, async () => {
    const sprayer = new TestClient(t.app);
    const codes: number[] = [];
    for (let i = 0; i < 52; i++)
      codes.push(
        (await sprayer.api('POST', '/api/v1/signin', { email: fresh(), password: 'spring summer 2026' })).statusCode,
      );
    expect(codes.slice(0, 50).every((c) => c === 401)).toBe(true);
    expect(codes.slice(50)).toEqual([429, 429]);
  });

  it('[A8] sign-up is limited per address', { timeout: 90_000 }, async () => {
    const bot = new TestClient(t.app);
    const codes: number[] = [];
    for (let i = 0; i < 11; i++)
      codes.push((await bot.api('POST', '/api/v1/signup', { email: fresh(), password: PASSWORD })).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 202)).toBe(true);
    expect(codes[10]).toBe(429);
  });

  it(
    '[A8] mail-sending requests are limited per account and address, without locking out the owner ' + 'elsewhere',
    async () => {
      const email = await account();
      const annoying = new TestClient(t.app);
      const codes: number[] = [];
      for (let i = 0; i < 6; i++)
        codes.push(
          (await annoying.api('POST', i % 2 ? '/api/v1/magic-links' : '/api/v1/password-resets', { email })).statusCode,
        );
      expect(codes).toEqual([202, 202, 202, 202, 202, 429]);
      expect((await new TestClient(t.app).api('POST', '/api/v1/magic-links', { email })).statusCode).toBe(202);
      const resend = new TestClient(t.app);
      for (let i = 0; i < 5; i++) await resend.api('POST', '/api/v1/email-verification/resend', { email });
      expect((await resend.api('POST', '/api/v1/email-verification/resend', { email })).statusCode).toBe(429);
    },
  );

  it('[A8] the pages show the limit as a message, with Retry-After', async () => {
    const email = await account();
    for (let i = 0; i < 6; i++)
      await new TestClient(t.app).api('POST', '/api/v1/signin', { email, password: `guess number ${i} here` });
    const browser = new TestClient(t.app);
    const form = await browser.request({ url: '/signin', headers: { accept: 'text/html' } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const res = await browser.request({
      method: 'POST',
      url: '/signin',
      form: { email, password: PASSWORD, _csrf: csrf },
      headers: { accept: 'text/html' },
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body).toContain('Too many attempts');
    expect(res.body).toContain('role="alert"');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../src/mfa/totp.js';
import { DEVICE_COOKIE } from '../src/platform/http/device-cookie.js';
import { SESSION_COOKIE } from '../src/sessions/http.js';
import { accounts, freshEmail, PASSWORD } from './helpers/accounts.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { linkIn, TestClient } from './helpers/client.js';
import { enrollTotp } from './helpers/mfa.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';

/*
 * Invariant 2 on the real flows, at the most talkative log level: every secret a flow handles
 * (passwords, mailed tokens, session ids, CSRF tokens, app keys and codes, recovery codes, API keys)
 * is collected while the flow runs, then searched for in everything that was logged.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ LOG_LEVEL: 'trace' });
});
afterAll(() => t.close());

describe('secrets in logs (L3, invariant 2)', () => {
  it(
    '[L3] no secret handled by sign-up, sign-in, second factors, resets, links or API keys reaches the ' + 'log',
    async () => {
      const helpers = accounts(t);
      const secrets = new Map<string, string>();
      const keep = (name: string, value: string | undefined) => {
        expect(value, name).toBeTruthy();
        secrets.set(name, value!);
      };
      const sessionOf = (client: TestClient, name: string) => keep(name, client.cookies.get(SESSION_COOKIE));
      keep('password', PASSWORD);

      // Sign-up and verification
      const email = freshEmail();
      keep('verification token', await helpers.signUp(email));
      expect(
        (
          await new TestClient(t.app).api('POST', '/api/v1/email-verification', {
            token: secrets.get('verification token'),
          })
        ).statusCode,
      ).toBe(200);

      // A wrong password, then the right one; the CSRF token of that browser
      expect((await helpers.signIn(email, 'not the password at all')).res.statusCode).toBe(401);
      const client = await helpers.signedIn(email);
      keep('device cookie', client.cookies.get(DEVICE_COOKIE));
      // ...presented again with a wrong password, as the owner's browser would
      const returning = new TestClient(t.app);
      returning.cookies.set(DEVICE_COOKIE, secrets.get('device cookie')!);
      expect(
        (await returning.api('POST', '/api/v1/signin', { email, password: 'still not the password' })).statusCode,
      ).toBe(401);
      sessionOf(client, 'session');
      keep('csrf token', (await client.api('GET', '/api/v1/csrf-token')).json().token);

      // Authenticator app and recovery codes; a wrong code; a sign-in finished with a recovery code
      const { secret, codes } = await enrollTotp(t, client);
      keep('totp secret', secret);
      for (const [i, c] of codes.entries()) keep(`recovery code ${i}`, c);
      const pending = (await helpers.signIn(email)).client;
      sessionOf(pending, 'pending session');
      const wrongCode = String((Number(totpCode(secret, t.clock.now())) + 1) % 1_000_000).padStart(6, '0');
      expect(
        (await pending.api('POST', '/api/v1/signin/second-factor', { kind: 'totp', code: wrongCode })).statusCode,
      ).toBe(401);
      expect(
        (await pending.api('POST', '/api/v1/signin/second-factor', { kind: 'recovery_code', code: codes[0] }))
          .statusCode,
      ).toBe(200);
      sessionOf(pending, 'rotated session');

      // A passkey (its ceremony carries challenges, not secrets; its session does)
      const passkeyOwner = await helpers.signedIn(await helpers.verified());
      const options = (await passkeyOwner.api('POST', '/api/v1/account/passkeys/options')).json();
      const authenticator = new SoftAuthenticator(new URL(t.config.baseUrl).origin, new URL(t.config.baseUrl).hostname);
      expect(
        (
          await passkeyOwner.api('POST', '/api/v1/account/passkeys', {
            name: 'Soft key',
            response: authenticator.register(options),
          })
        ).statusCode,
      ).toBe(201);
      sessionOf(passkeyOwner, 'session after passkey');

      // Magic link and password reset, each through its mailed token
      const other = await helpers.verified();
      expect((await new TestClient(t.app).api('POST', '/api/v1/magic-links', { email: other })).statusCode).toBe(202);
      keep('magic link token', linkIn((await t.mailTo(other, /sign-in link/)).text, '/magic-link/confirm').token);
      expect(
        (
          await new TestClient(t.app).api('POST', '/api/v1/magic-links/consume', {
            token: secrets.get('magic link token'),
          })
        ).statusCode,
      ).toBe(200);
      expect((await new TestClient(t.app).api('POST', '/api/v1/password-resets', { email: other })).statusCode).toBe(
        202,
      );
      keep('reset token', linkIn((await t.mailTo(other, /Reset your password/)).text, '/reset-password').token);
      keep('new password', 'quiet harbour lantern moss');
      expect(
        (
          await new TestClient(t.app).api('POST', '/api/v1/password-resets/complete', {
            token: secrets.get('reset token'),
            password: secrets.get('new password'),
          })
        ).statusCode,
      ).toBe(200);

      // An organization API key: created, used, and used with a forged secret
      const owner = await helpers.signedIn(await helpers.verified());
      const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Logs Inc' })).json().id;
      keep(
        'api key',
        (
          await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
            name: 'ci',
            scopes: ['org.read'],
            expiresInDays: 1,
          })
        ).json().key,
      );
      const withKey = (key: string) =>
        t.app.inject({ method: 'GET', url: `/api/v1/orgs/${orgId}`, headers: { authorization: `Bearer ${key}` } });
      expect((await withKey(secrets.get('api key')!)).statusCode).toBe(200);
      keep('forged api key', `${secrets.get('api key')!.slice(0, -43)}${'Q'.repeat(43)}`);
      expect((await withKey(secrets.get('forged api key')!)).statusCode).toBe(401);

      const logs = t.logs();
      expect(logs).toContain('"reqId"'); // requests were logged at all
      for (const [name, value] of secrets) {
        expect(logs.includes(value), `${name} leaked into the log`).toBe(false);
        expect(logs.includes(encodeURIComponent(value)), `${name} leaked URL-encoded`).toBe(false);
      }
      // An app code is six digits, which timestamps may contain by chance: look for it as a value.
      expect(logs).not.toMatch(new RegExp(`["=]${wrongCode}(["&\\s]|$)`));
    },
  );
});

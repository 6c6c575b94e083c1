import { afterAll, describe, expect, it } from 'vitest';
import { OWASP_PARAMS } from '../src/platform/crypto/passwords.js';
import { DEVICE_COOKIE } from '../src/platform/http/device-cookie.js';
import { SESSION_COOKIE } from '../src/sessions/http.js';
import { accounts, PASSWORD } from './helpers/accounts.js';
import { createTestApp } from './helpers/app.js';
import { linkIn, TestClient } from './helpers/client.js';
import { enrollTotp } from './helpers/mfa.js';
import { checkedAtMost, listening, sendAtOnce, sourceAddress, tally, type Request } from './helpers/sockets.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';

/*
 * A8 under real concurrency: each attempt is its own TCP connection from its own loopback address,
 * all sent at once, so a limit that is checked before and counted after the credential check (the
 * gap the attack pass found) lets the burst through, and one taken before the check does not.
 */

// OWASP-strength hashing, as in production: each check takes long enough for a burst to pile up behind it.
const t = await createTestApp({}, undefined, { hasherParams: OWASP_PARAMS });
afterAll(() => t.close());
const base = await listening(t);
const helpers = accounts(t);
let block = 10; // each test sends from its own range of source addresses
/** n requests at the same moment, each from its own address of a fresh range. */
const burst = (n: number, make: (from: string, i: number) => Request) => {
  const b = block++;
  return sendAtOnce(
    base,
    Array.from({ length: n }, (_, i) => make(sourceAddress(b, i), i)),
  );
};
const signIn = (email: string, password: string, from: string, headers?: Record<string, string>): Request => ({
  path: '/api/v1/signin',
  from,
  headers,
  json: { email, password },
});

const userIdOf = async (email: string) =>
  (
    await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow(),
    )
  ).id;

describe('credential checks under concurrent attempts (A8)', () => {
  it(
    '[A8] 50 wrong passwords for one account sent at once from 50 addresses: 6 are checked, 44 refused ' + 'unchecked',
    async () => {
      const email = await helpers.verified();
      const { answers, seconds } = await burst(50, (from, i) => signIn(email, `wrong guess ${i}`, from));
      expect(tally(answers)[401]).toBeGreaterThanOrEqual(6);
      expect(tally(answers)[401]).toBeLessThanOrEqual(checkedAtMost(seconds));
      expect(tally(answers)[401]! + tally(answers)[429]!).toBe(50);
    },
  );

  it('[A8] a burst of 60 guesses with the right password last does not sign in', async () => {
    const email = await helpers.verified();
    const { answers, seconds } = await burst(60, (from, i) =>
      signIn(email, i === 59 ? PASSWORD : `wrong guess ${i}`, from),
    );
    expect(answers.filter((r) => r.status === 200)).toEqual([]);
    expect(answers[59]!.status).toBe(429);
    expect(tally(answers)[401]).toBeLessThanOrEqual(checkedAtMost(seconds));
  });

  it(
    '[A8] 40 wrong step-up passwords at once on one session: 6 are checked, and the right one after them is ' +
      'refused',
    async () => {
      const email = await helpers.verified();
      const client = await helpers.signedIn(email);
      const headers = { cookie: client.cookieHeader()!, 'x-csrf-token': await client.csrf() };
      // The right password is sent last: it arrives after the others have taken the free attempts.
      const { answers, seconds } = await burst(41, (from, i) => ({
        path: '/api/v1/account/step-up',
        from,
        headers,
        json: { factor: 'password', secret: i === 40 ? PASSWORD : `wrong guess ${i}` },
      }));
      expect(tally(answers)[401]).toBeLessThanOrEqual(checkedAtMost(seconds));
      expect(answers[40]!.status).toBe(429);
    },
  );

  it('[A8] 40 wrong second-factor codes at once (app and recovery codes): 6 are checked', async () => {
    const email = await helpers.verified();
    await enrollTotp(t, await helpers.signedIn(email));
    const pending = new TestClient(t.app);
    expect(
      (await pending.api('POST', '/api/v1/signin', { email, password: PASSWORD })).json().secondFactorRequired,
    ).toBe(true);
    const headers = { cookie: pending.cookieHeader()!, 'x-csrf-token': await pending.csrf() };
    const { answers, seconds } = await burst(40, (from, i) => ({
      path: '/api/v1/signin/second-factor',
      from,
      headers,
      json:
        i % 2
          ? { kind: 'totp', code: String(100000 + i) }
          : { kind: 'recovery_code', code: `aaaa-bbbb-cccc-${String(1000 + i)}` },
    }));
    expect(tally(answers)[401]).toBeGreaterThanOrEqual(6);
    expect(tally(answers)[401]).toBeLessThanOrEqual(checkedAtMost(seconds));
  });
});

describe('the owner keeps a way in during an attack (A8)', () => {
  it('[A8] knowing only the address, an attacker cannot lock the owner out: a known browser, a mailed link, a ' +
    'reset and a passkey all get in', {
    timeout: 60_000,
  }, async () => {
    const email = await helpers.verified();
    const userId = await userIdOf(email);
    // The owner's own laptop has signed in before (it holds the device cookie), and they have a passkey.
    const laptop = await helpers.signedIn(email);
    expect(laptop.cookies.has(DEVICE_COOKIE)).toBe(true);
    const authenticator = new SoftAuthenticator(new URL(t.config.baseUrl).origin, new URL(t.config.baseUrl).hostname);
    const options = (await laptop.api('POST', '/api/v1/account/passkeys/options')).json();
    expect(
      (
        await laptop.api('POST', '/api/v1/account/passkeys', {
          name: 'Laptop',
          response: authenticator.register(options),
        })
      ).statusCode,
    ).toBe(201);
    const tokensBefore = await linkTokens(userId);

    // The attack, all at once from 32 addresses: 20 wrong passwords, 48 requests for links.
    const { answers: attack, seconds } = await burst(68, (from, i) => {
      if (i < 20) return signIn(email, `wrong guess ${i}`, from);
      return {
        path: i % 2 ? '/api/v1/magic-links' : '/api/v1/password-resets',
        from: sourceAddress(block - 1, i % 32),
        json: { email },
      };
    });
    expect(tally(attack.slice(0, 20))[401]).toBeLessThanOrEqual(checkedAtMost(seconds));
    expect(tally(attack.slice(20))).toEqual({ 202: 48 }); // answered alike, never "this account is busy"

    // The owner's laptop signs in with the right password while the guessing goes on.
    const laptopAgain = new TestClient(t.app);
    laptopAgain.cookies.set(DEVICE_COOKIE, laptop.cookies.get(DEVICE_COOKIE)!);
    const [fromLaptop, guesses] = await Promise.all([
      laptopAgain.api('POST', '/api/v1/signin', { email, password: PASSWORD }),
      burst(20, (from, i) => signIn(email, `next guess ${i}`, from)),
    ]);
    expect(fromLaptop.statusCode).toBe(200);
    expect(tally(guesses.answers)[401] ?? 0).toBeLessThanOrEqual(1); // the account's block lets one through as it ends

    // One link per purpose went out; the other requests found a live one and sent nothing.
    await waitFor(async () => (await linkRequests(userId)) >= 48);
    expect(await linkTokens(userId)).toEqual({
      magic_link: tokensBefore.magic_link + 1,
      password_reset: tokensBefore.password_reset + 1,
    });

    // A new phone asks for a link: nothing new is sent, and the newest link in the mailbox works.
    const phone = new TestClient(t.app);
    expect((await phone.api('POST', '/api/v1/magic-links', { email })).statusCode).toBe(202);
    const magic = linkIn((await t.mailTo(email, /sign-in link/)).text, '/magic-link/confirm').token;
    expect((await phone.api('POST', '/api/v1/magic-links/consume', { token: magic })).statusCode).toBe(200);

    const other = new TestClient(t.app);
    expect((await other.api('POST', '/api/v1/password-resets', { email })).statusCode).toBe(202);
    const reset = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password').token;
    expect(
      (
        await other.api('POST', '/api/v1/password-resets/complete', {
          token: reset,
          password: 'new quiet harbor lantern',
        })
      ).statusCode,
    ).toBe(200);

    // A passkey never waits for password failures.
    await burst(20, (from, i) => signIn(email, `more guesses ${i}`, from));
    const kiosk = new TestClient(t.app);
    const assertion = (await kiosk.api('POST', '/api/v1/signin/passkey/options')).json();
    expect(
      (
        await kiosk.api('POST', '/api/v1/signin/passkey', {
          response: authenticator.assert(assertion, options.user.id),
        })
      ).statusCode,
    ).toBe(200);
    expect(kiosk.cookies.has(SESSION_COOKIE)).toBe(true);
  });

  it('[A8] a device cookie is bound to its account and has a backoff of its own', async () => {
    const [mine, theirs] = [await helpers.verified(), await helpers.verified()];
    const laptop = await helpers.signedIn(mine);
    const device = laptop.cookies.get(DEVICE_COOKIE)!;
    // Guesses against another account with this cookie count against that account, not the cookie:
    // its owner's right password from a stranger's browser, and a forged cookie, sent last, wait too.
    const forged = `${device.split('.')[0]}.${'A'.repeat(43)}`;
    const { answers } = await burst(9, (from, i) => {
      const cookie =
        i < 7
          ? { cookie: `${DEVICE_COOKIE}=${device}` }
          : i === 8
            ? { cookie: `${DEVICE_COOKIE}=${forged}` }
            : undefined;
      return signIn(theirs, i < 7 ? `wrong guess ${i}` : PASSWORD, from, cookie);
    });
    expect(tally(answers)[401]).toBe(6);
    expect([answers[7]!.status, answers[8]!.status]).toEqual([429, 429]);
    // Someone holding my cookie is throttled too: it only spares the owner the attack from elsewhere.
    const thief = await burst(8, (from, i) =>
      signIn(mine, `wrong guess ${i}`, from, { cookie: `${DEVICE_COOKIE}=${device}` }),
    );
    expect(tally(thief.answers)).toEqual({ 401: 6, 429: 2 });
  });
});

async function linkTokens(userId: string): Promise<{ magic_link: number; password_reset: number }> {
  const rows = await t.db.withSystem((tx) =>
    tx.selectFrom('email_tokens').select('purpose').where('user_id', '=', userId).execute(),
  );
  return {
    magic_link: rows.filter((r) => r.purpose === 'magic_link').length,
    password_reset: rows.filter((r) => r.purpose === 'password_reset').length,
  };
}

async function linkRequests(userId: string): Promise<number> {
  const rows = await t.db.withSystem((tx) =>
    tx
      .selectFrom('audit_events')
      .select('action')
      .where('stream', '=', `user:${userId}`)
      .where('action', 'in', ['user.magic_link_requested', 'user.password_reset_requested'])
      .execute(),
  );
  return rows.length;
}

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in 5 s');
}

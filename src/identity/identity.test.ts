import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { accounts, freshEmail, PASSWORD } from '../../test/helpers/accounts.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import { verifyChain } from '../platform/audit/events.js';
import { RESEND_AFTER_MS } from './limits.js';

let t: TestApp;
let signUp: ReturnType<typeof accounts>['signUp'];
let signIn: ReturnType<typeof accounts>['signIn'];
let verified: ReturnType<typeof accounts>['verified'];
const fresh = freshEmail;

beforeAll(async () => {
  t = await createTestApp();
  ({ signUp, signIn, verified } = accounts(t));
});
afterAll(() => t.close());

async function verifiedUser(email = fresh()) {
  return { email: await verified(email), client: new TestClient(t.app) };
}

/** What a response shows an observer: status and body (request ids and dates differ by nature). */
const observable = (res: { statusCode: number; json(): unknown }) => ({
  status: res.statusCode,
  body: JSON.stringify(res.json()).replace(/"requestId":"[^"]+"/, ''),
});

async function userEvents(email: string): Promise<string[]> {
  const user = await t.db.withSystem((tx) =>
    tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow(),
  );
  const rows = await t.db.withSystem((tx) =>
    tx.selectFrom('audit_events').select('action').where('stream', '=', `user:${user.id}`).orderBy('seq').execute(),
  );
  return rows.map((r) => r.action);
}

describe('sign-up and verification (A1)', () => {
  it('[A1] sign-up mails a single-use verification link and records the event', async () => {
    const email = fresh();
    const res = await new TestClient(t.app).api('POST', '/api/v1/signup', {
      email: email.toUpperCase(),
      password: PASSWORD,
    });
    expect(res.statusCode).toBe(202);
    const token = linkIn((await t.mailTo(email, /Confirm/)).text, '/verify-email').token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await t.db.withSystem((tx) => tx.selectFrom('email_tokens').selectAll().execute());
    expect(stored.some((r) => r.token_hash.includes(token))).toBe(false); // only the hash is kept
    expect(await userEvents(email)).toEqual(['user.signed_up']);
  });

  it('[A1] sign-up for an existing address answers exactly like a new one and mails the owner instead', async () => {
    const { email } = await verifiedUser();
    const anon = new TestClient(t.app);
    const existing = await anon.api('POST', '/api/v1/signup', { email, password: 'another long passphrase here' });
    const brandNew = await anon.api('POST', '/api/v1/signup', {
      email: fresh(),
      password: 'another long passphrase here',
    });
    expect(observable(existing)).toEqual(observable(brandNew));
    expect(existing.headers['set-cookie']).toBeUndefined();
    const notice = await t.mailTo(email, /tried to sign up/);
    expect(notice.text).toContain('/forgot-password');
    // The account keeps its own password.
    expect((await signIn(email)).res.statusCode).toBe(200);
    expect((await signIn(email, 'another long passphrase here')).res.statusCode).toBe(401);
  });

  it('[A1] a guessable or short password is refused with a reason next to the field', async () => {
    const client = new TestClient(t.app);
    for (const password of ['short', 'password1234', 'qwertyuiopasdf']) {
      const res = await client.api('POST', '/api/v1/signup', { email: fresh(), password });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('weak_password');
      expect(res.json().error.fields[0].field).toBe('password');
      expect(res.json().error.message.length).toBeGreaterThan(10);
    }
  });

  it('[A1] until verified, a session reaches only "check your e-mail" and resend', async () => {
    const email = fresh();
    await signUp(email);
    const { res, client } = await signIn(email);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.emailVerified).toBe(false);
    expect((await client.api('GET', '/api/v1/me')).statusCode).toBe(200);
    const sessions = await client.api('GET', '/api/v1/sessions');
    expect(sessions.statusCode).toBe(403);
    expect(sessions.json().error.code).toBe('email_unverified');
    const page = await client.request({ url: '/account/security', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/verify-email/pending?next=%2Faccount%2Fsecurity');
    const pending = await client.request({ url: '/verify-email/pending', headers: { accept: 'text/html' } });
    expect(pending.statusCode).toBe(200);
    expect(pending.body).toContain('Check your e-mail');
  });

  it('[A1] verifying unlocks the same session at once; the link then fails if reused', async () => {
    const email = fresh();
    const token = await signUp(email);
    const { client } = await signIn(email);
    expect((await client.api('POST', '/api/v1/email-verification', { token })).statusCode).toBe(200);
    expect((await client.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    const again = await client.api('POST', '/api/v1/email-verification', { token });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe('invalid_link');
    expect(await userEvents(email)).toEqual(['user.signed_up', 'user.signed_in', 'user.email_verified']);
  });

  it('[A1] expired, forged and wrong-purpose verification tokens are refused', async () => {
    const email = fresh();
    const token = await signUp(email);
    const client = new TestClient(t.app);
    const forged = await client.api('POST', '/api/v1/email-verification', {
      token: token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'),
    });
    expect(forged.json().error.code).toBe('invalid_link');
    expect((await client.api('POST', '/api/v1/email-verification', { token: 'not-a-token' })).json().error.code).toBe(
      'invalid_link',
    );
    expect((await client.api('POST', '/api/v1/magic-links/consume', { token })).json().error.code).toBe('invalid_link');
    t.clock.advance(24 * 60 * 60 * 1000 + 1);
    try {
      const expired = await client.api('POST', '/api/v1/email-verification', { token });
      expect(expired.json().error.code).toBe('invalid_link');
    } finally {
      t.clock.advance(-(24 * 60 * 60 * 1000 + 1));
    }
  });

  it('[A1] a verification token issued to another account verifies that account, never the caller', async () => {
    const a = fresh();
    const b = fresh();
    await signUp(a);
    const tokenB = await signUp(b);
    const { client } = await signIn(a);
    expect((await client.api('POST', '/api/v1/email-verification', { token: tokenB })).statusCode).toBe(200);
    expect((await client.api('GET', '/api/v1/me')).json().user).toMatchObject({ email: a, emailVerified: false });
  });

  it(
    '[A1] resend answers the same for unknown, verified and unverified addresses, and supersedes the old ' + 'link',
    async () => {
      const email = fresh();
      const first = await signUp(email);
      const firstMail = await t.mailTo(email, /Confirm/);
      const { email: verified } = await verifiedUser();
      t.clock.advance(RESEND_AFTER_MS + 1000); // a live link younger than this is not replaced (A8)
      const client = new TestClient(t.app);
      const answers = [];
      for (const e of [email, verified, fresh()])
        answers.push(await client.api('POST', '/api/v1/email-verification/resend', { email: e }));
      expect(new Set(answers.map((r) => JSON.stringify(observable(r)))).size).toBe(1);
      const second = linkIn((await t.mailTo(email, /Confirm/, firstMail)).text, '/verify-email').token;
      expect(second).not.toBe(first);
      expect((await client.api('POST', '/api/v1/email-verification', { token: first })).json().error.code).toBe(
        'invalid_link',
      );
      expect((await client.api('POST', '/api/v1/email-verification', { token: second })).statusCode).toBe(200);
    },
  );
});

describe('sign-ups at the same moment (R6)', () => {
  it('[R6] sign-ups racing for one new address all answer 202, not 500, and make one account', async () => {
    const email = fresh();
    // Each from its own address, as separate browsers (the per-IP limit is not what this is about).
    const res = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new TestClient(t.app).api('POST', '/api/v1/signup', { email, password: `${PASSWORD} ${i}` }),
      ),
    );
    expect(res.map((r) => [r.statusCode, r.statusCode === 202 ? '' : r.body])).toEqual(Array(6).fill([202, '']));
    const users = await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).execute(),
    );
    expect(users).toHaveLength(1);
  });
});

describe('password sign-in', () => {
  it("[A1] unknown e-mail, wrong password and an unverified account's wrong password answer identically", async () => {
    const { email: verified } = await verifiedUser();
    const unverified = fresh();
    await signUp(unverified);
    const answers = [
      await signIn(fresh()),
      await signIn(verified, 'wrong horse battery'),
      await signIn(unverified, 'wrong horse battery'),
    ].map((r) => r.res);
    for (const res of answers) expect(res.headers['set-cookie']).toBeUndefined();
    expect(answers.map(observable)).toEqual(
      Array(3).fill({ status: 401, body: expect.stringContaining('"code":"invalid_credentials"') }),
    );
    expect(new Set(answers.map((r) => JSON.stringify(observable(r)))).size).toBe(1);
  });

  it('[D2] the stored hash is upgraded at sign-in when the Argon2id parameters change', async () => {
    const { email } = await verifiedUser();
    const before = await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow(),
    );
    expect(before.password_hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    const stronger = await createTestApp({}, undefined, {
      db: t.db,
      hasherParams: { memoryKiB: 2048, iterations: 2, parallelism: 1 },
    });
    try {
      expect((await signIn(email, PASSWORD, new TestClient(stronger.app))).res.statusCode).toBe(200);
    } finally {
      await stronger.close();
    }
    const after = await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow(),
    );
    expect(after.password_hash).toMatch(/^\$argon2id\$v=19\$m=2048,t=2,p=1\$/);
    expect((await signIn(email)).res.statusCode).toBe(200); // still the same password
  });

  it('[D2] passwords are never stored, logged or returned in plain text', async () => {
    const { email } = await verifiedUser();
    await signIn(email);
    const dump = await sql<{ t: string }>`select row_to_json(u)::text as t from users u`.execute(t.db.owner);
    expect(dump.rows.map((r) => r.t).join('\n')).not.toContain(PASSWORD);
    expect(t.logs()).not.toContain(PASSWORD);
  });
});

describe('magic links (A2)', () => {
  it('[A2] the request answers the same whether or not the account exists', async () => {
    const { email } = await verifiedUser();
    const client = new TestClient(t.app);
    const a = await client.api('POST', '/api/v1/magic-links', { email });
    const b = await client.api('POST', '/api/v1/magic-links', { email: fresh() });
    expect(observable(a)).toEqual(observable(b));
    expect(a.statusCode).toBe(202);
  });

  it('[A2] a magic link signs in once, verifies the address, and is refused when reused or expired', async () => {
    const email = fresh();
    await signUp(email);
    const client = new TestClient(t.app);
    await client.api('POST', '/api/v1/magic-links', { email });
    const first = await t.mailTo(email, /sign-in link/);
    const { token } = linkIn(first.text, '/magic-link/confirm');
    const res = await client.api('POST', '/api/v1/magic-links/consume', { token });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.emailVerified).toBe(true);
    expect((await client.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    expect((await new TestClient(t.app).api('POST', '/api/v1/magic-links/consume', { token })).json().error.code).toBe(
      'invalid_link',
    );
    expect(await userEvents(email)).toEqual(
      expect.arrayContaining(['user.magic_link_used', 'user.email_verified', 'user.signed_in']),
    );

    await client.api('POST', '/api/v1/magic-links', { email });
    const late = linkIn((await t.mailTo(email, /sign-in link/, first)).text, '/magic-link/confirm').token;
    t.clock.advance(15 * 60 * 1000 + 1);
    try {
      expect((await client.api('POST', '/api/v1/magic-links/consume', { token: late })).json().error.code).toBe(
        'invalid_link',
      );
    } finally {
      t.clock.advance(-(15 * 60 * 1000 + 1));
    }
  });
});

describe('password reset (A3)', () => {
  it('[A3] a reset revokes every session, mails a notice, signs in, and the link works once', async () => {
    const { email } = await verifiedUser();
    const other = (await signIn(email)).client;
    expect((await other.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    const client = new TestClient(t.app);
    expect((await client.api('POST', '/api/v1/password-resets', { email })).statusCode).toBe(202);
    expect((await client.api('POST', '/api/v1/password-resets', { email: fresh() })).statusCode).toBe(202);
    const { token } = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password');

    const weak = await client.api('POST', '/api/v1/password-resets/complete', { token, password: 'password1234' });
    expect(weak.json().error.code).toBe('weak_password'); // and the link is still good:
    const res = await client.api('POST', '/api/v1/password-resets/complete', {
      token,
      password: 'new quiet harbor lantern',
    });
    expect(res.statusCode).toBe(200);
    expect((await other.api('GET', '/api/v1/sessions')).statusCode).toBe(401);
    expect((await client.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    expect((await t.mailTo(email, /password was reset/)).text).toContain('signed out');
    expect((await signIn(email)).res.statusCode).toBe(401);
    expect((await signIn(email, 'new quiet harbor lantern')).res.statusCode).toBe(200);
    expect(
      (
        await client.api('POST', '/api/v1/password-resets/complete', { token, password: 'another new passphrase' })
      ).json().error.code,
    ).toBe('invalid_link');
    expect(await userEvents(email)).toContain('user.password_reset');
  });

  it('[A3] a reset link expires after one hour', async () => {
    const { email } = await verifiedUser();
    const client = new TestClient(t.app);
    await client.api('POST', '/api/v1/password-resets', { email });
    const { token } = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password');
    t.clock.advance(60 * 60 * 1000 + 1);
    try {
      expect(
        (
          await client.api('POST', '/api/v1/password-resets/complete', { token, password: 'new quiet harbor lantern' })
        ).json().error.code,
      ).toBe('invalid_link');
    } finally {
      t.clock.advance(-(60 * 60 * 1000 + 1));
    }
  });

  it('[A3] changing the password needs the current one and signs out every other session', async () => {
    const { email } = await verifiedUser();
    const { client } = await signIn(email);
    const { client: other } = await signIn(email);
    const wrong = await client.api('PUT', '/api/v1/me/password', {
      currentPassword: 'not my password',
      newPassword: 'new quiet harbor lantern',
    });
    expect(wrong.statusCode).toBe(401);
    expect((await other.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    const ok = await client.api('PUT', '/api/v1/me/password', {
      currentPassword: PASSWORD,
      newPassword: 'new quiet harbor lantern',
    });
    expect(ok.statusCode).toBe(204);
    expect((await other.api('GET', '/api/v1/sessions')).statusCode).toBe(401);
    expect((await client.api('GET', '/api/v1/sessions')).statusCode).toBe(200);
    expect((await t.mailTo(email, /password was changed/)).to).toBe(email);
    expect(await userEvents(email)).toEqual(
      expect.arrayContaining(['user.password_change_failed', 'user.password_changed']),
    );
  });
});

describe('links die with the password they were mailed for (A3)', () => {
  /** A reset link and a magic link, both mailed and unused. */
  async function outstandingLinks(email: string) {
    const client = new TestClient(t.app);
    await client.api('POST', '/api/v1/password-resets', { email });
    await client.api('POST', '/api/v1/magic-links', { email });
    return {
      reset: linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password').token,
      magic: linkIn((await t.mailTo(email, /sign-in link/)).text, '/magic-link/confirm').token,
    };
  }

  it('[A3] changing the password ends every reset and magic link mailed before it', async () => {
    const { email } = await verifiedUser();
    const links = await outstandingLinks(email);
    const { client } = await signIn(email);
    expect(
      (
        await client.api('PUT', '/api/v1/me/password', {
          currentPassword: PASSWORD,
          newPassword: 'new quiet harbor lantern',
        })
      ).statusCode,
    ).toBe(204);
    const attacker = new TestClient(t.app);
    expect(
      (
        await attacker.api('POST', '/api/v1/password-resets/complete', {
          token: links.reset,
          password: 'taken over at last ok',
        })
      ).json().error.code,
    ).toBe('invalid_link');
    expect((await attacker.api('POST', '/api/v1/magic-links/consume', { token: links.magic })).json().error.code).toBe(
      'invalid_link',
    );
    expect((await signIn(email, 'new quiet harbor lantern')).res.statusCode).toBe(200);
  });

  it('[A3] using a reset link ends the magic links mailed before it', async () => {
    const { email } = await verifiedUser();
    const links = await outstandingLinks(email);
    const owner = new TestClient(t.app);
    expect(
      (
        await owner.api('POST', '/api/v1/password-resets/complete', {
          token: links.reset,
          password: 'new quiet harbor lantern',
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await new TestClient(t.app).api('POST', '/api/v1/magic-links/consume', { token: links.magic })).json().error
        .code,
    ).toBe('invalid_link');
  });

  it('[A3] a new sign-in address ends the reset and magic links mailed to the old one', async () => {
    const { email } = await verifiedUser();
    const links = await outstandingLinks(email);
    const { client } = await signIn(email);
    const to = fresh();
    expect((await client.api('POST', '/api/v1/me/email', { email: to })).statusCode).toBe(202);
    const change = linkIn((await t.mailTo(to, /Confirm/)).text, '/account/email/confirm').token;
    expect((await client.api('POST', '/api/v1/email-changes/confirm', { token: change })).statusCode).toBe(200);
    expect(
      (
        await new TestClient(t.app).api('POST', '/api/v1/password-resets/complete', {
          token: links.reset,
          password: 'taken over at last ok',
        })
      ).json().error.code,
    ).toBe('invalid_link');
    expect(
      (await new TestClient(t.app).api('POST', '/api/v1/magic-links/consume', { token: links.magic })).json().error
        .code,
    ).toBe('invalid_link');
  });
});

describe('audit of personal events (L1)', () => {
  it('[L1] every identity event lands in the user stream and the chain verifies', async () => {
    const { email, client } = await verifiedUser();
    await signIn(email, 'wrong horse battery');
    const { client: signedIn } = await signIn(email);
    expect((await signedIn.api('POST', '/api/v1/signout')).statusCode).toBe(204);
    await client.api('POST', '/api/v1/magic-links', { email });
    const { token } = linkIn((await t.mailTo(email, /sign-in link/)).text, '/magic-link/confirm');
    await client.api('POST', '/api/v1/magic-links/consume', { token });
    const events = await userEvents(email);
    expect(events).toEqual(
      expect.arrayContaining([
        'user.signed_up',
        'user.email_verified',
        'user.sign_in_failed',
        'user.signed_in',
        'user.signed_out',
        'user.magic_link_requested',
        'user.magic_link_used',
      ]),
    );
    const user = await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow(),
    );
    expect(await t.db.withSystem((tx) => verifyChain(tx, `user:${user.id}`))).toMatchObject({
      ok: true,
      events: events.length,
    });
  });
});

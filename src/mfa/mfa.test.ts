import { describe, expect, it } from 'vitest';
import { fileTestApp } from '../../test/helpers/app.js';
import { accounts, PASSWORD } from '../../test/helpers/accounts.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import { enrollTotp, recoveryCodesOn, totpSecretOn } from '../../test/helpers/mfa.js';
import { SESSION_COOKIE } from '../sessions/http.js';
import { STEP_UP_WINDOW_MS } from './service.js';
import { totpCode } from './totp.js';

const t = await fileTestApp();
const helpers = accounts(t);

const STEP = 30_000;
const auditActions = async (userId: string) =>
  (
    await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('action').where('stream', '=', `user:${userId}`).orderBy('seq').execute(),
    )
  ).map((r) => r.action);
const userIdOf = async (email: string) =>
  (
    await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow(),
    )
  ).id;

/** A verified account with the authenticator app on, through the pages; returns its secret and recovery codes. */
async function withTotp(email?: string) {
  const address = await helpers.verified(email);
  const client = await helpers.signedIn(address);
  return { email: address, client, ...(await enrollTotp(t, client)) };
}

/** Password sign-in of an account with a second factor: a pending session. */
async function passwordStep(email: string) {
  const { res, client } = await helpers.signIn(email);
  expect(res.statusCode).toBe(200);
  expect(res.json().secondFactorRequired).toBe(true);
  return client;
}

describe('authenticator app enrollment (A4)', () => {
  it(
    '[A4] setup shows a QR code and the key; a first code turns it on and shows ten recovery codes once; the ' +
      'secret is stored sealed',
    async () => {
      const email = await helpers.verified();
      const client = await helpers.signedIn(email);
      const setup = await client.page('/account/totp/setup');
      expect(setup.headers['cache-control']).toBe('no-store');
      expect(setup.body).toContain('<svg class="qr"');
      const secret = totpSecretOn(setup.body);
      const wrong = await client.form('/account/totp/setup', {
        code: '000000' === totpCode(secret, t.clock.now()) ? '111111' : '000000',
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.body).toContain('field-code-error');
      expect(totpSecretOn(wrong.body)).toBe(secret); // the same enrollment, shown again
      const before = client.cookies.get(SESSION_COOKIE);
      const done = await client.form('/account/totp/setup', { code: totpCode(secret, t.clock.now()) });
      expect(done.statusCode).toBe(200);
      expect(done.headers['cache-control']).toBe('no-store');
      const codes = recoveryCodesOn(done.body);
      expect(codes).toHaveLength(10);
      expect(client.cookies.get(SESSION_COOKIE)).not.toBe(before); // S2: privilege change rotates the id

      const userId = await userIdOf(email);
      const row = await t.db.withSystem((tx) =>
        tx.selectFrom('totp_credentials').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow(),
      );
      expect(row.confirmed_at).not.toBeNull();
      expect(row.secret_sealed).not.toContain(secret);
      expect(Buffer.from(row.secret_sealed.replace(/^[^.:]*[.:]/, ''), 'base64url').includes(Buffer.from(secret))).toBe(
        false,
      );
      const stored = await t.db.withSystem((tx) =>
        tx.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute(),
      );
      expect(stored).toHaveLength(10);
      expect(stored.some((r) => codes.includes(r.code_hash))).toBe(false);
      expect(await auditActions(userId)).toEqual(
        expect.arrayContaining(['mfa.totp_enabled', 'mfa.recovery_codes_generated']),
      );
      expect((await t.mailTo(email, /second factor was added/)).text).toContain('authenticator app');
      // The security page shows it, and no longer offers setup
      const view = await client.page('/account/security');
      expect(view.body).toContain('10 of 10 unused');
      expect((await client.page('/account/totp/setup')).statusCode).toBe(409);
    },
  );
});

describe('sign-in with a second factor (A4, S2, A8)', () => {
  it(
    '[A4] after the password, the session reaches only the second-factor step; the code finishes sign-in and ' +
      'rotates the session id',
    async () => {
      const { email, secret } = await withTotp();
      const client = await passwordStep(email);
      const pendingCookie = client.cookies.get(SESSION_COOKIE)!;
      expect((await client.page('/account/security')).headers.location).toBe(
        '/signin/second-factor?next=%2Faccount%2Fsecurity',
      );
      const api = await client.api('GET', '/api/v1/sessions');
      expect(api.statusCode).toBe(401);
      expect(api.json().error.code).toBe('second_factor_required');
      expect((await client.api('GET', '/api/v1/orgs')).statusCode).toBe(401);
      const view = await client.page('/signin/second-factor');
      expect(view.statusCode).toBe(200);
      expect(view.body).toContain('Code from your authenticator app');

      const done = await client.form('/signin/second-factor', { kind: 'totp', code: totpCode(secret, t.clock.now()) });
      expect(done.statusCode).toBe(303);
      expect(done.headers.location).toBe('/account/security');
      expect(client.cookies.get(SESSION_COOKIE)).not.toBe(pendingCookie);
      expect((await client.page('/account/security')).statusCode).toBe(200);
      // The pending cookie is dead
      const old = new TestClient(t.app);
      old.cookies.set(SESSION_COOKIE, pendingCookie);
      expect((await old.page('/signin/second-factor')).headers.location).toMatch(/^\/signin/);
      expect((await old.api('GET', '/api/v1/sessions')).statusCode).toBe(401);
      const actions = await auditActions(await userIdOf(email));
      expect(actions.slice(-2)).toEqual(['user.first_factor_passed', 'user.signed_in']);
    },
  );

  it('[A4] a code already used in its window is refused (replay)', async () => {
    const { email, secret } = await withTotp();
    const first = await passwordStep(email);
    const code = totpCode(secret, t.clock.now());
    expect((await first.api('POST', '/api/v1/signin/second-factor', { kind: 'totp', code })).statusCode).toBe(200);
    const second = await passwordStep(email);
    const replay = await second.api('POST', '/api/v1/signin/second-factor', { kind: 'totp', code });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('invalid_code');
    t.clock.advance(STEP);
    expect(
      (
        await second.api('POST', '/api/v1/signin/second-factor', {
          kind: 'totp',
          code: totpCode(secret, t.clock.now()),
        })
      ).statusCode,
    ).toBe(200);
  });

  it('[A8] wrong second-factor codes are rate limited per account, and each failure is an audit event', async () => {
    const { email, secret } = await withTotp();
    const client = await passwordStep(email);
    const right = totpCode(secret, t.clock.now());
    const wrong = right === '123456' ? '654321' : '123456';
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (await client.api('POST', '/api/v1/signin/second-factor', { kind: 'totp', code: wrong })).statusCode,
      );
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const limited = await client.api('POST', '/api/v1/signin/second-factor', { kind: 'totp', code: right });
    expect(limited.statusCode).toBe(429); // even the right code waits: no oracle while throttled
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(
      (await auditActions(await userIdOf(email))).filter((a) => a === 'mfa.check_failed').length,
    ).toBeGreaterThanOrEqual(5);
  });

  it(
    '[A4] a recovery code works once; using it is an audit event and a mail; a new set invalidates the old ' + 'one',
    async () => {
      const { email, codes } = await withTotp();
      const a = await passwordStep(email);
      expect(
        (await a.form('/signin/second-factor', { kind: 'recovery_code', code: codes[0]!.toUpperCase() })).statusCode,
      ).toBe(303);
      expect((await t.mailTo(email, /recovery code was used/)).text).toContain('9 unused codes remain');
      const b = await passwordStep(email);
      const again = await b.form('/signin/second-factor', { kind: 'recovery_code', code: codes[0]! });
      expect(again.statusCode).toBe(401);
      expect(again.body).toContain('is not an unused recovery code');
      expect(await auditActions(await userIdOf(email))).toContain('mfa.recovery_code_used');

      // a's session is fresh (just signed in with a factor): it may make a new set
      const fresh = await a.form('/account/recovery-codes', {});
      expect(fresh.statusCode).toBe(200);
      const newCodes = recoveryCodesOn(fresh.body);
      expect(newCodes).toHaveLength(10);
      expect((await b.form('/signin/second-factor', { kind: 'recovery_code', code: codes[1]! })).statusCode).toBe(401);
      expect((await b.form('/signin/second-factor', { kind: 'recovery_code', code: newCodes[0]! })).statusCode).toBe(
        303,
      );
    },
  );

  it('[A4] a magic link and a password reset do not skip the second factor', async () => {
    const { email } = await withTotp();
    const client = new TestClient(t.app);
    await client.api('POST', '/api/v1/magic-links', { email });
    const { token } = linkIn((await t.mailTo(email, /sign-in link/)).text, '/magic-link/confirm');
    const res = await client.form('/magic-link/confirm', { token });
    expect(res.headers.location).toBe('/signin/second-factor');
    expect((await client.page('/account/security')).statusCode).toBe(303);

    await client.api('POST', '/api/v1/password-resets', { email });
    const reset = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password');
    const done = await client.api('POST', '/api/v1/password-resets/complete', {
      token: reset.token,
      password: 'quiet harbor lantern violet',
    });
    expect(done.json().secondFactorRequired).toBe(true);
  });

  it('[A4] a pending sign-in expires after 10 minutes and can be cancelled', async () => {
    const { email } = await withTotp();
    const client = await passwordStep(email);
    t.clock.advance(10 * 60_000 + 1000);
    expect((await client.page('/signin/second-factor')).headers.location).toMatch(/^\/signin\?/);
    const other = await passwordStep(email);
    expect((await other.form('/signout', {})).headers.location).toBe('/');
    expect(other.cookies.has(SESSION_COOKIE)).toBe(false);
  });
});

describe('step-up (S2)', () => {
  it(
    '[S2] sensitive actions older than 10 minutes need the strongest factor again, and the session id ' + 'rotates',
    async () => {
      const { client, secret, email } = await withTotp();
      t.clock.advance(STEP_UP_WINDOW_MS + 1000);
      const refused = await client.form('/account/totp/disable', {});
      expect(refused.statusCode).toBe(303);
      expect(refused.headers.location).toBe('/account/step-up');
      expect((await client.api('DELETE', '/api/v1/account/totp')).json().error.code).toBe('step_up_required');
      expect((await client.api('POST', '/api/v1/account/recovery-codes')).statusCode).toBe(403);
      expect(
        (
          await client.api('PUT', '/api/v1/me/password', {
            currentPassword: PASSWORD,
            newPassword: 'another fine long sentence',
          })
        ).statusCode,
      ).toBe(403);

      const view = await client.page('/account/step-up?next=/account/security');
      expect(view.body).toContain('Code from your authenticator app');
      // the password alone is not the strongest factor
      expect(view.body).not.toContain('autocomplete="current-password"');
      const byPassword = await client.api('POST', '/api/v1/account/step-up', { factor: 'password', secret: PASSWORD });
      expect(byPassword.json().error.code).toBe('factor_not_allowed');

      const before = client.cookies.get(SESSION_COOKIE);
      const up = await client.form('/account/step-up?next=/account/security', {
        factor: 'totp',
        secret: totpCode(secret, t.clock.now()),
      });
      expect(up.headers.location).toBe('/account/security');
      expect(client.cookies.get(SESSION_COOKIE)).not.toBe(before);
      expect((await client.form('/account/totp/disable', {})).headers.location).toBe('/account/security?done=totp_off');
      expect((await t.mailTo(email, /second factor was removed/)).text).toContain('authenticator app');
      const userId = await userIdOf(email);
      expect(await auditActions(userId)).toEqual(expect.arrayContaining(['user.stepped_up', 'mfa.totp_disabled']));
      // No second factor left: the recovery codes went with it
      expect(
        await t.db.withSystem((tx) =>
          tx.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).execute(),
        ),
      ).toHaveLength(0);
    },
  );

  it('[S2] without a second factor, step-up asks for the password; a wrong one is refused', async () => {
    const email = await helpers.verified();
    const client = await helpers.signedIn(email);
    t.clock.advance(STEP_UP_WINDOW_MS + 1000);
    const setup = await client.page('/account/totp/setup');
    expect(setup.headers.location).toBe('/account/step-up?next=%2Faccount%2Ftotp%2Fsetup');
    const wrong = await client.form('/account/step-up?next=/account/totp/setup', {
      factor: 'password',
      secret: 'not it at all',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('field-secret-error');
    const right = await client.form('/account/step-up?next=/account/totp/setup', {
      factor: 'password',
      secret: PASSWORD,
    });
    expect(right.headers.location).toBe('/account/totp/setup');
    expect((await client.page('/account/totp/setup')).statusCode).toBe(200);
  });
});

describe('security score (A9)', () => {
  it(
    '[A9] the account page shows 75 without a second factor and 100 with one and a recent password, with the ' +
      'steps linked',
    async () => {
      const email = await helpers.verified();
      const client = await helpers.signedIn(email);
      const before = (await client.api('GET', '/api/v1/account/two-factor')).json();
      expect(before.score.score).toBe(75);
      expect((await client.page('/account/security')).body).toContain('href="/account/security#two-factor"');
      const { client: enrolled, email: enrolledEmail } = await withTotp();
      expect((await enrolled.api('GET', '/api/v1/account/two-factor')).json().score).toEqual({ score: 100, steps: [] });
      // Live: a password last changed 91 days ago costs 10 points at once, with the step to win them back
      const ninetyOneDaysAgo = new Date(t.clock.now().getTime() - 91 * 24 * 60 * 60_000);
      await t.db.withSystem((tx) =>
        tx
          .updateTable('users')
          .set({ password_changed_at: ninetyOneDaysAgo })
          .where('email', '=', enrolledEmail)
          .execute(),
      );
      const later = (await enrolled.api('GET', '/api/v1/account/two-factor')).json().score;
      expect(later.score).toBe(90);
      expect(later.steps).toEqual([expect.objectContaining({ href: '/account/security#password', points: 10 })]);
    },
  );
});

describe('passkeys over HTTP (A5)', () => {
  /** A stored passkey row for someone (the browser suite registers real ones; here only ownership matters). */
  async function passkeyOf(email: string, name = 'Laptop') {
    const userId = await userIdOf(email);
    return t.db.withSystem((tx) =>
      tx
        .insertInto('passkeys')
        .values({
          user_id: userId,
          credential_id: `cred-${userId}-${name}`,
          public_key: Buffer.from('not a real key'),
          counter: 0,
          transports: ['internal'],
          name,
          device_type: 'singleDevice',
          backed_up: false,
          created_at: t.clock.now(),
        })
        .returning(['id', 'credential_id'])
        .executeTakeFirstOrThrow(),
    );
  }

  it("[A5] another person's passkey cannot be renamed or removed: 404, and it is unchanged", async () => {
    const victim = await helpers.verified();
    const { id } = await passkeyOf(victim);
    const attacker = await helpers.signedIn(await helpers.verified());
    expect((await attacker.api('PATCH', `/api/v1/account/passkeys/${id}`, { name: 'pwned' })).statusCode).toBe(404);
    expect((await attacker.api('DELETE', `/api/v1/account/passkeys/${id}`)).statusCode).toBe(404);
    expect((await attacker.form(`/account/passkeys/${id}/rename`, { name: 'pwned' })).statusCode).toBe(404);
    expect((await attacker.form(`/account/passkeys/${id}/delete`, {})).statusCode).toBe(404);
    const row = await t.db.withSystem((tx) =>
      tx.selectFrom('passkeys').select('name').where('id', '=', id).executeTakeFirst(),
    );
    expect(row?.name).toBe('Laptop');
  });

  it(
    '[A5] a forged assertion for a real credential is refused and recorded; an unknown credential is refused ' +
      'alike',
    async () => {
      const email = await helpers.verified();
      const { credential_id } = await passkeyOf(email);
      const client = new TestClient(t.app);
      const options = (await client.api('POST', '/api/v1/signin/passkey/options')).json();
      expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
      const clientDataJSON = Buffer.from(
        JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: 'http://localhost:3000' }),
      ).toString('base64url');
      const forged = (id: string) => ({
        response: {
          id,
          rawId: id,
          type: 'public-key',
          clientExtensionResults: {},
          response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' },
        },
      });
      const stored = () =>
        t.db.withSystem((tx) =>
          tx.selectFrom('webauthn_challenges').select('challenge').where('challenge', '=', options.challenge).execute(),
        );
      expect(await stored()).toHaveLength(1);
      const refused = await client.api('POST', '/api/v1/signin/passkey', forged(credential_id));
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe('passkey_failed');
      expect(client.cookies.has('__Host-rampart_session')).toBe(false);
      expect(await auditActions(await userIdOf(email))).toContain('mfa.check_failed');
      // The challenge was spent by that attempt: it can never be answered again
      expect(await stored()).toEqual([]);
      const unknown = await client.api('POST', '/api/v1/signin/passkey', forged('no-such-credential'));
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json().error.code).toBe('passkey_failed');
    },
  );

  it(
    '[A5] the page a passkey sign-in continues to is always a local path (no open redirect through ' + '?next=)',
    async () => {
      const client = new TestClient(t.app);
      for (const next of ['https://evil.example/x', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
        const html = (await client.page(`/signin?next=${encodeURIComponent(next)}`)).body;
        expect([...html.matchAll(/data-next="([^"]*)"/g)].map((m) => m[1])).toEqual(['/account/security']);
      }
      expect((await client.page('/signin?next=%2Forgs')).body).toContain('data-next="/orgs"');
    },
  );

  it('[A8] passwordless sign-in challenges are rate limited per IP (each one is a stored row)', async () => {
    const client = new TestClient(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await client.api('POST', '/api/v1/signin/passkey/options')).statusCode);
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses[60]).toBe(429);
    // another address is unaffected
    expect((await new TestClient(t.app).api('POST', '/api/v1/signin/passkey/options')).statusCode).toBe(200);
  });

  it('[A5] adding a passkey needs a recent sign-in, like removing one', async () => {
    const client = await helpers.signedIn(await helpers.verified());
    expect((await client.api('POST', '/api/v1/account/passkeys/options')).statusCode).toBe(200);
    t.clock.advance(STEP_UP_WINDOW_MS + 1000);
    const stale = await client.api('POST', '/api/v1/account/passkeys/options');
    expect(stale.statusCode).toBe(403);
    expect(stale.json().error.code).toBe('step_up_required');
  });
});

import { describe, expect, it } from 'vitest';
import { accounts, freshEmail, PASSWORD } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import { STEP_UP_WINDOW_MS } from '../mfa/service.js';

const t = await fileTestApp();
const helpers = accounts(t);

const userEvents = async (userId: string) =>
  (
    await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('action').where('stream', '=', `user:${userId}`).orderBy('seq').execute(),
    )
  ).map((r) => r.action);
const emailOf = async (userId: string) =>
  (
    await t.db.withSystem((tx) =>
      tx.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow(),
    )
  ).email;

/** A signed-in account that asked to move to a new address; returns the mailed token. */
async function requested() {
  const email = await helpers.verified();
  const client = await helpers.signedIn(email);
  const userId = (await client.api('GET', '/api/v1/me')).json().user.id as string;
  const newEmail = freshEmail();
  expect((await client.api('POST', '/api/v1/me/email', { email: newEmail.toUpperCase() })).statusCode).toBe(202);
  const { token, url } = linkIn(
    (await t.mailTo(newEmail, /Confirm your new e-mail address/)).text,
    '/account/email/confirm',
  );
  return { email, newEmail, client, userId, token, url };
}

const confirm = (token: string) => new TestClient(t.app).api('POST', '/api/v1/email-changes/confirm', { token });

describe('changing the sign-in address (S2)', () => {
  it('[S2] asking to change the address needs a sign-in from the last 10 minutes', async () => {
    const client = await helpers.signedIn(await helpers.verified());
    t.clock.advance(STEP_UP_WINDOW_MS + 1000);
    try {
      const api = await client.api('POST', '/api/v1/me/email', { email: freshEmail() });
      expect(api.statusCode).toBe(403);
      expect(api.json().error.code).toBe('step_up_required');
      const form = await client.form('/account/email', { email: freshEmail() });
      expect(form.statusCode).toBe(303);
      expect(form.headers.location).toMatch(/^\/account\/step-up/);
    } finally {
      t.clock.advance(-(STEP_UP_WINDOW_MS + 1000));
    }
  });

  it(
    '[S2] the link goes to the new address; the account moves only when it is used, then signs in there, and ' +
      'the old address is told',
    async () => {
      const { email, newEmail, client, userId, token, url } = await requested();
      // Opening the link changes nothing (mail scanners open links); the old address still signs in.
      const confirmPage = (await new TestClient(t.app).page(new URL(url).pathname + new URL(url).search)).body;
      expect(confirmPage).toContain(`Make ${newEmail} the address your account signs in with.`);
      expect(await emailOf(userId)).toBe(email);
      expect((await helpers.signIn(email)).res.statusCode).toBe(200);

      const done = await confirm(token);
      expect(done.statusCode).toBe(200);
      expect(done.json()).toEqual({ email: newEmail });
      // In a browser that is not signed in, the page says where the account went
      const other = await requested();
      const page = await new TestClient(t.app).form('/account/email/confirm', { token: other.token });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`Your account now signs in with ${other.newEmail}.`);
      expect((await helpers.signIn(newEmail)).res.statusCode).toBe(200);
      expect((await helpers.signIn(email)).res.statusCode).toBe(401);
      expect((await client.api('GET', '/api/v1/me')).json().user).toMatchObject({
        email: newEmail,
        emailVerified: true,
      }); // the cached session saw it
      const notice = await t.mailTo(email, /Your sign-in address was changed/);
      expect(notice.text).toContain(newEmail);
      expect(await userEvents(userId)).toEqual(
        expect.arrayContaining(['user.email_change_requested', 'user.email_changed']),
      );
    },
  );

  it('[S2] the link works once and expires after an hour', async () => {
    const first = await requested();
    expect((await confirm(first.token)).statusCode).toBe(200);
    expect((await new TestClient(t.app).page(`/account/email/confirm?token=${first.token}`)).body).toContain(
      'This link cannot be used',
    );
    const replay = await confirm(first.token);
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error.code).toBe('invalid_link');

    const late = await requested();
    t.clock.advance(60 * 60 * 1000 + 1);
    try {
      expect((await confirm(late.token)).json().error.code).toBe('invalid_link');
      expect(await emailOf(late.userId)).toBe(late.email);
    } finally {
      t.clock.advance(-(60 * 60 * 1000 + 1));
    }
  });

  it(
    '[S2] an address that already has an account gets a notice instead of a link, and the asker gets the same ' +
      'answer',
    async () => {
      const taken = await helpers.verified();
      const email = await helpers.verified();
      const client = await helpers.signedIn(email);
      const res = await client.api('POST', '/api/v1/me/email', { email: taken });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({ status: 'accepted' });
      expect((await t.mailTo(taken, /Someone tried to move an account to your address/)).text).not.toContain(
        '/account/email/confirm',
      );
      expect((await t.mailbox.list(500)).filter((m) => m.to === taken && /Confirm your new/.test(m.subject))).toEqual(
        [],
      );
    },
  );

  it(
    '[S2] if the new address gets an account before the link is used, the change is refused and nothing ' + 'moves',
    async () => {
      const { email, newEmail, userId, token } = await requested();
      await helpers.verified(newEmail);
      const refused = await confirm(token);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('email_taken');
      expect(await emailOf(userId)).toBe(email);
    },
  );

  it(
    '[S2] a newer request replaces the older link, and links mailed to the old address stop working after the ' +
      'move',
    async () => {
      const { email, client, token: older } = await requested();
      expect((await new TestClient(t.app).api('POST', '/api/v1/password-resets', { email })).statusCode).toBe(202);
      const reset = linkIn((await t.mailTo(email, /Reset your password/)).text, '/reset-password').token;
      const newer = freshEmail();
      expect((await client.api('POST', '/api/v1/me/email', { email: newer })).statusCode).toBe(202);
      const token = linkIn((await t.mailTo(newer, /Confirm your new/)).text, '/account/email/confirm').token;
      expect((await confirm(older)).json().error.code).toBe('invalid_link');
      expect((await confirm(token)).statusCode).toBe(200);
      const stale = await new TestClient(t.app).api('POST', '/api/v1/password-resets/complete', {
        token: reset,
        password: 'another long passphrase here',
      });
      expect(stale.json().error.code).toBe('invalid_link');
    },
  );

  it(
    '[S2] the security page asks for the new address, shows mistakes next to the field, and confirms through ' +
      'a button',
    async () => {
      const email = await helpers.verified();
      const client = await helpers.signedIn(email);
      expect((await client.page('/account/security')).body).toContain(`signs in with <strong>${email}</strong>`);
      const same = await client.form('/account/email', { email });
      expect(same.statusCode).toBe(400);
      expect(same.body).toMatch(/id="field-email-error"[^>]*>is already your address/);
      const invalid = await client.form('/account/email', { email: 'not an address' });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.body).toContain('value="not an address"');

      const newEmail = freshEmail();
      const sent = await client.form('/account/email', { email: newEmail });
      expect(sent.statusCode).toBe(303);
      expect(sent.headers.location).toBe('/account/security?done=email_sent');
      const { token } = linkIn((await t.mailTo(newEmail, /Confirm your new/)).text, '/account/email/confirm');
      // Confirmed in the browser that is signed in to the account: back to its page, with the new address
      const done = await client.form('/account/email/confirm', { token });
      expect(done.statusCode).toBe(303);
      expect(done.headers.location).toBe('/account/security?done=email_changed');
      expect((await client.page('/account/security?done=email_changed')).body).toContain(
        `signs in with <strong>${newEmail}</strong>`,
      );
      expect((await client.form('/account/email/confirm', { token })).body).toContain('This link cannot be used');
      expect((await helpers.signIn(newEmail, PASSWORD)).res.statusCode).toBe(200);
    },
  );
});

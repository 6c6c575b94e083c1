import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';
import { BLANKS } from '../../test/helpers/input.js';
import { SoftAuthenticator, type Tamper } from '../../test/helpers/soft-authenticator.js';
import { SESSION_COOKIE } from '../sessions/http.js';

/*
 * A5 checks on genuine ceremonies: a software authenticator signs real assertions, and each case
 * gets one thing wrong (origin, RP ID, user verification, counter). The browser suite registers
 * and uses passkeys through Chromium's virtual authenticator.
 */

const t = await fileTestApp();
const helpers = accounts(t);
const origin = new URL(t.config.baseUrl).origin;
const rpId = new URL(t.config.baseUrl).hostname;

/** A signed-in account with one passkey registered by a software authenticator. */
async function withPasskey(synced = false) {
  const client = await helpers.signedIn(await helpers.verified());
  const authenticator = new SoftAuthenticator(origin, rpId, synced);
  const options = (await client.api('POST', '/api/v1/account/passkeys/options')).json();
  const added = await client.api('POST', '/api/v1/account/passkeys', {
    name: 'Soft key',
    response: authenticator.register(options),
  });
  expect(added.statusCode).toBe(201);
  return { client, authenticator, userHandle: options.user.id as string };
}

/** A passwordless sign-in attempt from a fresh browser. */
async function passwordless(authenticator: SoftAuthenticator, userHandle: string, tamper?: Tamper) {
  const browser = new TestClient(t.app);
  const options = (await browser.api('POST', '/api/v1/signin/passkey/options')).json();
  const res = await browser.api('POST', '/api/v1/signin/passkey', {
    response: authenticator.assert(options, userHandle, tamper),
  });
  return { res, signedIn: browser.cookies.has(SESSION_COOKIE) };
}

const counterOf = async (credentialId: string) =>
  Number(
    (
      await t.db.withSystem((tx) =>
        tx.selectFrom('passkeys').select('counter').where('credential_id', '=', credentialId).executeTakeFirstOrThrow(),
      )
    ).counter,
  );

describe('passkey checks on real signatures (A5)', () => {
  it('[A5] a genuine assertion signs in without a password, and the stored signature counter follows it', async () => {
    const { authenticator, userHandle } = await withPasskey();
    const first = await passwordless(authenticator, userHandle);
    expect(first.res.statusCode).toBe(200);
    expect(first.signedIn).toBe(true);
    expect(await counterOf(authenticator.id)).toBe(1);
    expect((await passwordless(authenticator, userHandle)).res.statusCode).toBe(200);
    expect(await counterOf(authenticator.id)).toBe(2);
  });

  it('[A10] the session records which kind of passkey signed in (device-bound or synced), for amr', async () => {
    const factorsAfterSignIn = async (synced: boolean) => {
      const { authenticator, userHandle } = await withPasskey(synced);
      const browser = new TestClient(t.app);
      const options = (await browser.api('POST', '/api/v1/signin/passkey/options')).json();
      const res = await browser.api('POST', '/api/v1/signin/passkey', {
        response: authenticator.assert(options, userHandle),
      });
      expect(res.statusCode).toBe(200);
      const me = (await browser.api('GET', '/api/v1/me')).json();
      const row = await t.db.withSystem((tx) =>
        tx.selectFrom('sessions').select('factors').where('id', '=', me.session.id).executeTakeFirstOrThrow(),
      );
      return row.factors;
    };
    expect(await factorsAfterSignIn(false)).toEqual(['passkey']);
    expect(await factorsAfterSignIn(true)).toEqual(['synced_passkey']);
  });

  it('[A5] a counter that goes backwards (a cloned authenticator) is refused', async () => {
    const { authenticator, userHandle } = await withPasskey();
    for (let i = 0; i < 3; i++) expect((await passwordless(authenticator, userHandle)).res.statusCode).toBe(200);
    const clone = await passwordless(authenticator, userHandle, { counter: 2 });
    expect(clone.res.statusCode).toBe(401);
    expect(clone.res.json().error.code).toBe('passkey_failed');
    expect(clone.signedIn).toBe(false);
    expect(await counterOf(authenticator.id)).toBe(3);
  });

  it(
    '[A5] two answers carrying the same counter at once (a clone racing the original): only one signs ' + 'in',
    async () => {
      const { authenticator, userHandle } = await withPasskey();
      const attempts = await Promise.all(
        [0, 1].map(async () => {
          const browser = new TestClient(t.app);
          const options = (await browser.api('POST', '/api/v1/signin/passkey/options')).json();
          return browser.api('POST', '/api/v1/signin/passkey', {
            response: authenticator.assert(options, userHandle, { counter: 7 }),
          });
        }),
      );
      expect(attempts.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      expect(await counterOf(authenticator.id)).toBe(7);
    },
  );

  it(
    "[L1] [A5] a passkey's use (counter, last use) commits with the sign-in it is for and its audit event, or " +
      'not at all',
    async () => {
      const { authenticator, userHandle } = await withPasskey();
      const userId = Buffer.from(userHandle, 'base64url')
        .toString('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
      const signIns = async () =>
        (
          await t.db.withSystem((tx) =>
            tx
              .selectFrom('audit_events')
              .select('payload')
              .where('stream', '=', `user:${userId}`)
              .where('action', '=', 'user.signed_in')
              .execute(),
          )
        ).filter((e) => (e.payload as { method?: string }).method === 'passkey').length;
      // The database refuses the new session: the sign-in fails, and the passkey's use is not kept either.
      const name = `test_refuse_${Date.now()}`;
      await sql
        .raw(
          `create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'injected ` +
            `failure'; end $$`,
        )
        .execute(t.db.owner);
      await sql
        .raw(
          `create trigger ${name} before insert on sessions for each row when (new.user_id = '${userId}' and ` +
            `new.method = 'passkey') execute function ${name}()`,
        )
        .execute(t.db.owner);
      try {
        expect((await passwordless(authenticator, userHandle)).res.statusCode).toBe(500);
      } finally {
        await sql.raw(`drop trigger ${name} on sessions`).execute(t.db.owner);
        await sql.raw(`drop function ${name}()`).execute(t.db.owner);
      }
      expect(await counterOf(authenticator.id)).toBe(0);
      expect(await signIns()).toBe(0);
      expect((await passwordless(authenticator, userHandle)).res.statusCode).toBe(200);
      expect(await counterOf(authenticator.id)).toBe(2);
      expect(await signIns()).toBe(1);
    },
  );

  it('[A5] an assertion made for another origin or another RP ID is refused', async () => {
    const { authenticator, userHandle } = await withPasskey();
    for (const tamper of [
      { origin: 'https://evil.example' },
      { origin: origin.replace('localhost', '127.0.0.1') },
      { rpId: 'evil.example' },
    ]) {
      const attempt = await passwordless(authenticator, userHandle, tamper);
      expect(attempt.res.statusCode, JSON.stringify(tamper)).toBe(401);
      expect(attempt.signedIn).toBe(false);
    }
  });

  it('[A5] without user verification (presence only), neither sign-in nor registration is accepted', async () => {
    const { authenticator, userHandle } = await withPasskey();
    expect((await passwordless(authenticator, userHandle, { noUserVerification: true })).res.statusCode).toBe(401);

    const client = await helpers.signedIn(await helpers.verified());
    const options = (await client.api('POST', '/api/v1/account/passkeys/options')).json();
    const refused = await client.api('POST', '/api/v1/account/passkeys', {
      name: 'No PIN',
      response: new SoftAuthenticator(origin, rpId).register(options, { noUserVerification: true }),
    });
    // passkey_failed has one status, sign-in or registration: 401, the credential is refused (docs/errors.md).
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('passkey_failed');
  });

  it('[A5] registration from another origin is refused, and its challenge cannot be reused', async () => {
    const client = await helpers.signedIn(await helpers.verified());
    const options = (await client.api('POST', '/api/v1/account/passkeys/options')).json();
    const authenticator = new SoftAuthenticator(origin, rpId);
    expect(
      (
        await client.api('POST', '/api/v1/account/passkeys', {
          name: 'Phished',
          response: authenticator.register(options, { origin: 'https://evil.example' }),
        })
      ).statusCode,
    ).toBe(401);
    // The genuine answer to the same challenge comes too late: the challenge was spent.
    expect(
      (
        await client.api('POST', '/api/v1/account/passkeys', {
          name: 'Late',
          response: authenticator.register(options),
        })
      ).statusCode,
    ).toBe(401);
  });

  it("[A5] a passkey of one account cannot finish the second step of another account's sign-in", async () => {
    const mine = await withPasskey();
    const victimEmail = await helpers.verified();
    const victim = await helpers.signedIn(victimEmail);
    const victimKey = new SoftAuthenticator(origin, rpId);
    const options = (await victim.api('POST', '/api/v1/account/passkeys/options')).json();
    expect(
      (
        await victim.api('POST', '/api/v1/account/passkeys', {
          name: 'Victim key',
          response: victimKey.register(options),
        })
      ).statusCode,
    ).toBe(201);

    const { client: pending } = await helpers.signIn(victimEmail);
    const challenge = (await pending.api('POST', '/api/v1/signin/second-factor/passkey/options')).json();
    const answer = await pending.api('POST', '/api/v1/signin/second-factor/passkey', {
      response: mine.authenticator.assert(challenge, mine.userHandle),
    });
    expect(answer.statusCode).toBe(401);
    expect((await pending.api('GET', '/api/v1/me')).statusCode).toBe(401); // still only a pending sign-in
  });
});

describe('passkey names (R5)', () => {
  const names = async (client: TestClient) =>
    (await client.api('GET', '/api/v1/account/two-factor')).json().passkeys.map((k: { name: string }) => k.name);

  it(
    '[R5] renaming a passkey to " ", "\\u3000" or "\\ufeff" (or another blank) is a 400, not a 500, and the ' +
      'name stays',
    async () => {
      const { client } = await withPasskey();
      const [id] = (await client.api('GET', '/api/v1/account/two-factor'))
        .json()
        .passkeys.map((k: { id: string }) => k.id);
      for (const name of BLANKS) {
        const api = await client.api('PATCH', `/api/v1/account/passkeys/${id}`, { name });
        expect(api.statusCode, JSON.stringify(name)).toBe(400);
        expect(api.json().error).toMatchObject({
          code: 'invalid_request',
          fields: [{ field: 'name', message: 'is required' }],
        });
        expect((await client.form(`/account/passkeys/${id}/rename`, { name })).statusCode, JSON.stringify(name)).toBe(
          400,
        );
      }
      expect(await names(client)).toEqual(['Soft key']);
    },
  );

  it('[R5] a passkey name is stored trimmed of Unicode spaces, the BOM and zero-width spaces', async () => {
    const { client } = await withPasskey();
    const [id] = (await client.api('GET', '/api/v1/account/two-factor'))
      .json()
      .passkeys.map((k: { id: string }) => k.id);
    expect(
      (
        await client.api('PATCH', `/api/v1/account/passkeys/${id}`, {
          name: '\ufeff\u200b\u3000 Work laptop \u00a0\u0085',
        })
      ).statusCode,
    ).toBe(204);
    expect(await names(client)).toEqual(['Work laptop']);
  });
});

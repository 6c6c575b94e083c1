import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { ChallengePurpose } from '../platform/db/tables.js';
import { notFound } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { type Authenticated, type Session, type SessionOps, type SessionService } from '../sessions/index.js';
import { mfaError } from './errors.js';
import { factorsOf, hasSecondFactor } from './factors.js';
import type { MfaLimits } from './limits.js';
import { factorChangedMail } from './mails.js';
import type { MfaService } from './service.js';

const CHALLENGE_TTL_MS = 5 * 60 * 1000;

/** A verified assertion of a user's passkey; `use` records the use, false when the counter did not move forward. */
interface VerifiedAssertion {
  userId: string;
  use(tx: Tx): Promise<boolean>;
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  backedUp: boolean;
}

export interface PasskeyDeps {
  db: Tenancy;
  sessions: SessionService;
  mfa: MfaService;
  limits: MfaLimits;
  clock: Clock;
  baseUrl: string;
}

const failed = () => mfaError('passkey_failed');
const uuidBytes = (uuid: string) => new Uint8Array(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
const uuidFromHandle = (handle: string) => {
  const hex = Buffer.from(handle, 'base64url').toString('hex');
  return hex.length === 32
    ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    : undefined;
};

export type PasskeyService = ReturnType<typeof createPasskeyService>;

/**
 * A5 with @simplewebauthn: registration and assertion ceremonies. User verification is required,
 * origin and RP ID are checked, the signature counter must move forward (the library refuses a
 * counter that did not grow when either side is non-zero), and each challenge is used once.
 */
export function createPasskeyService(deps: PasskeyDeps) {
  const { db, sessions, mfa, limits, clock } = deps;
  const { origin, hostname: rpID } = new URL(deps.baseUrl);
  const actor = (userId: string) => `user:${userId}`;

  async function storeChallenge(
    challenge: string,
    purpose: ChallengePurpose,
    sessionId: string | null,
    context: RequestContext,
  ): Promise<void> {
    enforce(await limits.challengesByIp.consume(context.ip ?? 'unknown'));
    const now = clock.now();
    await db.withSystem(async (tx) => {
      await tx.deleteFrom('webauthn_challenges').where('expires_at', '<', now).execute();
      await tx
        .insertInto('webauthn_challenges')
        .values({
          challenge,
          purpose,
          session_id: sessionId,
          created_at: now,
          expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS),
        })
        .execute();
    });
  }

  /** Spends a challenge: true only once, only for its purpose and session, only before it expires. */
  const consumeChallenge =
    (purpose: ChallengePurpose, sessionId: string | null) =>
    async (challenge: string): Promise<boolean> => {
      const row = await db.withSystem((tx) => {
        let q = tx
          .deleteFrom('webauthn_challenges')
          .where('challenge', '=', challenge)
          .where('purpose', '=', purpose)
          .where('expires_at', '>', clock.now());
        q = sessionId ? q.where('session_id', '=', sessionId) : q.where('session_id', 'is', null);
        return q.returning('challenge').executeTakeFirst();
      });
      return row !== undefined;
    };

  async function credentialsOf(tx: Tx, userId: string) {
    return tx.selectFrom('passkeys').select(['credential_id', 'transports']).where('user_id', '=', userId).execute();
  }

  /**
   * Verifies an assertion; for a named user, only that user's passkeys count. The passkey's use
   * (counter, last use) is written by `use`, in the transaction of what the assertion is for, with
   * that action's audit event (see signedWith).
   */
  async function verifyAssertion(
    purpose: ChallengePurpose,
    sessionId: string | null,
    expectedUser: string | null,
    response: AuthenticationResponseJSON,
    context: RequestContext,
  ): Promise<VerifiedAssertion> {
    enforce(await limits.checksByIp.consume(context.ip ?? 'unknown'));
    const key = await db.withSystem((tx) =>
      tx.selectFrom('passkeys').selectAll().where('credential_id', '=', String(response.id)).executeTakeFirst(),
    );
    const handleUser = response.response?.userHandle ? uuidFromHandle(response.response.userHandle) : undefined;
    if (!key || (expectedUser && key.user_id !== expectedUser) || (handleUser && handleUser !== key.user_id)) {
      if (expectedUser) return mfa.internals.refuse(expectedUser, 'passkey', context, failed());
      throw failed();
    }
    // No per-account backoff here: a signature cannot be guessed, and counting forged answers against
    // the account would let anyone who learned a credential id lock its owner out (A8).
    let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>> | undefined;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: consumeChallenge(purpose, sessionId),
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: {
          id: key.credential_id,
          publicKey: new Uint8Array(key.public_key),
          counter: Number(key.counter),
          transports: key.transports,
        },
        requireUserVerification: true,
      });
    } catch {
      verification = undefined;
    }
    if (!verification?.verified) {
      return mfa.internals.refuse(key.user_id, 'passkey', context, failed());
    }
    const { newCounter, credentialBackedUp } = verification.authenticationInfo;
    return {
      userId: key.user_id,
      // The counter only moves forward: of two answers carrying the same count at once (a cloned
      // authenticator), the second finds it already there (waiting for the first's transaction) and
      // is refused. 0 means "no counter".
      async use(tx) {
        let q = tx
          .updateTable('passkeys')
          .set({ counter: newCounter, last_used_at: clock.now(), backed_up: credentialBackedUp })
          .where('id', '=', key.id);
        if (newCounter > 0) q = q.where('counter', '<', newCounter);
        return (await q.returning('id').executeTakeFirst()) !== undefined;
      },
    };
  }

  /**
   * One session write for what a verified assertion is for: the passkey's use first, then `fn`
   * (which records the action's audit event), committed together. A counter that did not move
   * forward keeps nothing of `fn`, and the failed check is recorded on its own.
   */
  async function signedWith<T>(
    assertion: VerifiedAssertion,
    context: RequestContext,
    fn: (tx: Tx, s: SessionOps) => Promise<T>,
  ): Promise<T> {
    const result = await sessions.write(async (tx, s) =>
      (await assertion.use(tx)) ? { value: await fn(tx, s) } : undefined,
    );
    if (!result) return mfa.internals.refuse(assertion.userId, 'passkey', context, failed());
    return result.value;
  }

  async function assertionOptions(
    purpose: ChallengePurpose,
    session: Session | null,
    context: RequestContext,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = session ? await db.withSystem((tx) => credentialsOf(tx, session.userId)) : [];
    if (session && allow.length === 0) throw mfaError('no_passkey');
    const options = await generateAuthenticationOptions({
      rpID,
      userVerification: 'required',
      allowCredentials: allow.map((c) => ({ id: c.credential_id, transports: c.transports })),
    });
    await storeChallenge(options.challenge, purpose, session?.id ?? null, context);
    return options;
  }

  return {
    async list(userId: string): Promise<Passkey[]> {
      const rows = await db.withSystem((tx) =>
        tx
          .selectFrom('passkeys')
          .select(['id', 'name', 'created_at', 'last_used_at', 'backed_up'])
          .where('user_id', '=', userId)
          .orderBy('created_at')
          .execute(),
      );
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        backedUp: r.backed_up,
      }));
    },

    /** Adding a factor is sensitive too (a stolen session must not plant its own passkey): step-up first. */
    async registrationOptions(
      auth: Authenticated,
      context: RequestContext,
    ): Promise<PublicKeyCredentialCreationOptionsJSON> {
      await mfa.requireRecent(auth.session);
      const existing = await db.withSystem((tx) => credentialsOf(tx, auth.user.id));
      const options = await generateRegistrationOptions({
        rpName: 'Rampart',
        rpID,
        userName: auth.user.email,
        userID: uuidBytes(auth.user.id),
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      await storeChallenge(options.challenge, 'register', auth.session.id, context);
      return options;
    },

    /**
     * Stores a verified new passkey; the session is now two-factor and gets a new id (S2).
     * `recoveryCodesDue`: the account has no unused recovery codes (first factor): the page makes a set next.
     */
    async register(
      auth: Authenticated,
      name: string,
      response: RegistrationResponseJSON,
      context: RequestContext,
    ): Promise<{ passkey: Passkey; token: string; recoveryCodesDue: boolean }> {
      await mfa.requireRecent(auth.session);
      let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>> | undefined;
      try {
        verification = await verifyRegistrationResponse({
          response,
          expectedChallenge: consumeChallenge('register', auth.session.id),
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch {
        verification = undefined;
      }
      if (!verification?.verified)
        throw mfaError('passkey_failed', { message: 'The passkey could not be registered. Try again.' });
      const info = verification.registrationInfo;
      const result = await sessions.write(async (tx, s) => {
        const row = await tx
          .insertInto('passkeys')
          .values({
            user_id: auth.user.id,
            credential_id: info.credential.id,
            public_key: Buffer.from(info.credential.publicKey),
            counter: info.credential.counter,
            transports: info.credential.transports ?? [],
            name: name.trim(),
            device_type: info.credentialDeviceType,
            backed_up: info.credentialBackedUp,
            created_at: clock.now(),
          })
          .onConflict((oc) => oc.column('credential_id').doNothing())
          .returning(['id', 'name', 'created_at', 'last_used_at', 'backed_up'])
          .executeTakeFirst();
        if (!row) throw mfaError('passkey_exists');
        await appendAudit(
          tx,
          {
            stream: userStream(auth.user.id),
            action: 'mfa.passkey_added',
            actor: actor(auth.user.id),
            target: `passkey:${row.id}`,
            context,
            payload: { name: row.name },
          },
          clock,
        );
        const token = await s.rotate(auth.session.id, { reason: 'second_factor_added', authLevel: 2, context });
        const recoveryCodesDue = (await factorsOf(tx, auth.user.id)).recoveryCodesLeft === 0;
        return {
          passkey: {
            id: row.id,
            name: row.name,
            createdAt: row.created_at,
            lastUsedAt: row.last_used_at,
            backedUp: row.backed_up,
          },
          token,
          recoveryCodesDue,
        };
      });
      mfa.internals.send(factorChangedMail(auth.user.email, `passkey “${result.passkey.name}”`, 'added', deps.baseUrl));
      return result;
    },

    async rename(auth: Authenticated, passkeyId: string, name: string, context: RequestContext): Promise<void> {
      await db.withSystem(async (tx) => {
        const row = await tx
          .updateTable('passkeys')
          .set({ name: name.trim() })
          .where('id', '=', passkeyId)
          .where('user_id', '=', auth.user.id)
          .returning('id')
          .executeTakeFirst();
        if (!row) throw notFound('That passkey');
        await appendAudit(
          tx,
          {
            stream: userStream(auth.user.id),
            action: 'mfa.passkey_renamed',
            actor: actor(auth.user.id),
            target: `passkey:${passkeyId}`,
            context,
            payload: { name: name.trim() },
          },
          clock,
        );
      });
    },

    /** Revokes one passkey (step-up). With no second factor left, the recovery codes go too. */
    async remove(auth: Authenticated, passkeyId: string, context: RequestContext): Promise<void> {
      await mfa.requireRecent(auth.session);
      const name = await db.withSystem(async (tx) => {
        const row = await tx
          .deleteFrom('passkeys')
          .where('id', '=', passkeyId)
          .where('user_id', '=', auth.user.id)
          .returning('name')
          .executeTakeFirst();
        if (!row) throw notFound('That passkey');
        const recoveryCodesRemoved = hasSecondFactor(await factorsOf(tx, auth.user.id))
          ? false
          : (await tx.deleteFrom('recovery_codes').where('user_id', '=', auth.user.id).executeTakeFirst())
              .numDeletedRows > 0n;
        await appendAudit(
          tx,
          {
            stream: userStream(auth.user.id),
            action: 'mfa.passkey_removed',
            actor: actor(auth.user.id),
            target: `passkey:${passkeyId}`,
            context,
            payload: { name: row.name, recoveryCodesRemoved },
          },
          clock,
        );
        return row.name;
      });
      mfa.internals.send(factorChangedMail(auth.user.email, `passkey “${name}”`, 'removed', deps.baseUrl));
    },

    /** Options for passwordless sign-in (discoverable credentials: the authenticator picks the account). */
    signInOptions: (context: RequestContext) => assertionOptions('sign_in', null, context),
    secondFactorOptions: (pending: Authenticated, context: RequestContext) =>
      assertionOptions('second_factor', pending.session, context),
    stepUpOptions: (auth: Authenticated, context: RequestContext) => assertionOptions('step_up', auth.session, context),

    /** A5: passwordless sign-in. A passkey with user verification is two factors by itself. */
    async signIn(response: AuthenticationResponseJSON, context: RequestContext) {
      const assertion = await verifyAssertion('sign_in', null, null, response, context);
      const userId = assertion.userId;
      return signedWith(assertion, context, async (tx, s) => {
        const user = await tx
          .selectFrom('users')
          .select(['id', 'email', 'email_verified_at'])
          .where('id', '=', userId)
          .executeTakeFirstOrThrow();
        const { token, session } = await s.create(userId, { method: 'passkey', authLevel: 2, context });
        return {
          token,
          session,
          user: { id: user.id, email: user.email, emailVerified: user.email_verified_at !== null },
        };
      });
    },

    async completeSignIn(pending: Authenticated, response: AuthenticationResponseJSON, context: RequestContext) {
      const assertion = await verifyAssertion('second_factor', pending.session.id, pending.user.id, response, context);
      return signedWith(assertion, context, (_tx, s) => s.completeSignIn(pending.session.id, 'passkey', context));
    },

    async stepUp(auth: Authenticated, response: AuthenticationResponseJSON, context: RequestContext): Promise<string> {
      const assertion = await verifyAssertion('step_up', auth.session.id, auth.user.id, response, context);
      return signedWith(assertion, context, async (tx, s) => {
        await appendAudit(
          tx,
          {
            stream: userStream(auth.user.id),
            action: 'user.stepped_up',
            actor: actor(auth.user.id),
            target: `session:${auth.session.id}`,
            context,
            payload: { factor: 'passkey' },
          },
          clock,
        );
        return s.rotate(auth.session.id, { reason: 'step_up', authLevel: 2, context });
      });
    },
  };
}

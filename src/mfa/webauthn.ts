import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
  VerifiedAuthenticationResponse,
} from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library.js';
import { enforce } from '../platform/limits/enforce.js';
import type { Tx } from '../platform/db/database.js';
import type { ChallengePurpose } from '../platform/db/tables.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Session, SessionOps } from '../sessions/index.js';
import { mfaError } from './errors.js';
import type { PasskeyDeps } from './passkeys.js';
import {
  credentialsOf,
  deleteLiveChallenge,
  insertChallenge,
  passkeyByCredentialId,
  recordPasskeyUse,
} from './repository.js';

/* The WebAuthn ceremony steps the PasskeyService operations share: challenges and assertions. */

const CHALLENGE_TTL_MS = 5 * 60 * 1000;

/** A5: every ceremony requires user verification (PIN or biometrics): a passkey is two factors by itself. */
export const USER_VERIFICATION = 'required';

/** A registered credential, as the ceremonies name it to the authenticator. */
export interface KnownCredential {
  id: string;
  transports?: string[];
}

/** The passkey service's dependencies, with the origin and RP ID taken from the base URL. */
export interface PasskeyContext extends PasskeyDeps {
  origin: string;
  rpID: string;
}

/** A verified assertion of a user's passkey; `use` records the use, false when the counter did not move forward. */
export interface VerifiedAssertion {
  userId: string;
  /** What the session records: a backed-up (synced) passkey is a software key, a device-bound one hardware. */
  factor: 'passkey' | 'synced_passkey';
  use(tx: Tx): Promise<boolean>;
}

export const failed = () => mfaError('passkey_failed');
export const actor = (userId: string) => `user:${userId}`;
export const uuidBytes = (uuid: string) => new Uint8Array(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
const uuidFromHandle = (handle: string) => {
  const hex = Buffer.from(handle, 'base64url').toString('hex');
  return hex.length === 32
    ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    : undefined;
};

export async function storeChallenge(
  ctx: PasskeyContext,
  challenge: string,
  purpose: ChallengePurpose,
  sessionId: string | null,
  context: RequestContext,
): Promise<void> {
  enforce(await ctx.limits.challengesByIp.consume(context.ip ?? 'unknown'));
  const now = ctx.clock.now();
  await ctx.db.withSystem((tx) =>
    insertChallenge(tx, { challenge, purpose, sessionId, now, expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS) }),
  );
}

/** Spends a challenge: true only once, only for its purpose and session, only before it expires. */
export const consumeChallenge =
  (ctx: PasskeyContext, purpose: ChallengePurpose, sessionId: string | null) =>
  async (challenge: string): Promise<boolean> =>
    ctx.db.withSystem((tx) => deleteLiveChallenge(tx, challenge, purpose, sessionId, ctx.clock.now()));

/**
 * Verifies an assertion; for a named user, only that user's passkeys count. The passkey's use
 * (counter, last use) is written by `use`, in the transaction of what the assertion is for, with
 * that action's audit event (see signedWith).
 */
export async function verifyAssertion(
  ctx: PasskeyContext,
  purpose: ChallengePurpose,
  sessionId: string | null,
  expectedUser: string | null,
  response: AuthenticationResponseJSON,
  context: RequestContext,
): Promise<VerifiedAssertion> {
  const { mfa, clock } = ctx;
  enforce(await ctx.limits.checksByIp.consume(context.ip ?? 'unknown'));
  const key = await ctx.db.withSystem((tx) => passkeyByCredentialId(tx, String(response.id)));
  const handleUser = response.response?.userHandle ? uuidFromHandle(response.response.userHandle) : undefined;
  if (!key || (expectedUser && key.user_id !== expectedUser) || (handleUser && handleUser !== key.user_id)) {
    if (expectedUser) return mfa.internals.refuse(expectedUser, 'passkey', context, failed());
    throw failed();
  }
  // No per-account backoff here: a signature cannot be guessed, and counting forged answers against
  // the account would let anyone who learned a credential id lock its owner out (A8).
  let verification: VerifiedAuthenticationResponse | undefined;
  try {
    verification = await (await webauthnLibrary()).verifyAuthenticationResponse({
      response,
      expectedChallenge: consumeChallenge(ctx, purpose, sessionId),
      expectedOrigin: ctx.origin,
      expectedRPID: ctx.rpID,
      credential: {
        id: key.credential_id,
        publicKey: new Uint8Array(key.public_key),
        counter: Number(key.counter),
        transports: key.transports,
      },
      requireUserVerification: USER_VERIFICATION === 'required',
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
    factor: credentialBackedUp ? 'synced_passkey' : 'passkey',
    // The counter only moves forward: of two answers carrying the same count at once (a cloned
    // authenticator), the second finds it already there (waiting for the first's transaction) and
    // is refused. 0 means "no counter".
    use: (tx) => recordPasskeyUse(tx, key.id, { counter: newCounter, backedUp: credentialBackedUp, now: clock.now() }),
  };
}

/**
 * One session write for what a verified assertion is for: the passkey's use first, then `fn`
 * (which records the action's audit event), committed together. A counter that did not move
 * forward keeps nothing of `fn`, and the failed check is recorded on its own.
 */
export async function signedWith<T>(
  ctx: PasskeyContext,
  assertion: VerifiedAssertion,
  context: RequestContext,
  fn: (tx: Tx, s: SessionOps) => Promise<T>,
): Promise<T> {
  const result = await ctx.sessions.write(async (tx, s) =>
    (await assertion.use(tx)) ? { value: await fn(tx, s) } : undefined,
  );
  if (!result) return ctx.mfa.internals.refuse(assertion.userId, 'passkey', context, failed());
  return result.value;
}

export async function assertionOptions(
  ctx: PasskeyContext,
  purpose: ChallengePurpose,
  session: Session | null,
  context: RequestContext,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = session ? await ctx.db.withSystem((tx) => credentialsOf(tx, session.userId)) : [];
  if (session && allow.length === 0) throw mfaError('no_passkey');
  const options = await requestOptions(
    ctx,
    allow.map((c) => ({ id: c.credential_id, transports: c.transports })),
  );
  await storeChallenge(ctx, options.challenge, purpose, session?.id ?? null, context);
  return options;
}

/** The options of an assertion with these credentials (none: discoverable, passwordless); nothing is stored. */
export async function requestOptions(
  ctx: Pick<PasskeyContext, 'rpID'>,
  allow: KnownCredential[],
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return (await webauthnLibrary()).generateAuthenticationOptions({
    rpID: ctx.rpID,
    userVerification: USER_VERIFICATION,
    allowCredentials: allow,
  });
}

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Authenticated, Session, SessionService } from '../sessions/index.js';
import { mfaError } from './errors.js';
import { hasSecondFactor } from './factors.js';
import type { MfaLimits } from './limits.js';
import { factorChangedMail } from './mails.js';
import {
  credentialsOf,
  deletePasskey,
  deleteRecoveryCodes,
  factorsOf,
  insertPasskey,
  passkeysOf,
  renamePasskey,
  signInUserOf,
} from './repository.js';
import type { MfaService } from './service.js';
import {
  actor,
  assertionOptions,
  consumeChallenge,
  type KnownCredential,
  type PasskeyContext,
  requestOptions,
  signedWith,
  storeChallenge,
  USER_VERIFICATION,
  uuidBytes,
  verifyAssertion,
} from './webauthn.js';

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

export interface WebauthnSettings {
  origin: string;
  rpID: string;
  userVerification: typeof USER_VERIFICATION;
  registration: PublicKeyCredentialCreationOptionsJSON;
  assertion: PublicKeyCredentialRequestOptionsJSON;
}

/** A5: passkeys (WebAuthn): their list, registration, and sign-in, second factor and step-up with one. */
export interface PasskeyService {
  /** The user's passkeys, oldest first. */
  list(userId: string): Promise<Passkey[]>;
  /** Options for registering a new passkey (step-up first). */
  registrationOptions(auth: Authenticated, context: RequestContext): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** Stores a verified new passkey; the session is now two-factor and gets a new id. */
  register(
    auth: Authenticated,
    name: string,
    response: RegistrationResponseJSON,
    context: RequestContext,
  ): Promise<{ passkey: Passkey; token: string; recoveryCodesDue: boolean }>;
  /** Renames one of the user's passkeys. */
  rename(auth: Authenticated, passkeyId: string, name: string, context: RequestContext): Promise<void>;
  /** Revokes one passkey (step-up); with no second factor left, the recovery codes go too. */
  remove(auth: Authenticated, passkeyId: string, context: RequestContext): Promise<void>;
  /** Options for passwordless sign-in (discoverable credentials: the authenticator picks the account). */
  signInOptions(context: RequestContext): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Options for the passkey second factor of a pending sign-in. */
  secondFactorOptions(pending: Authenticated, context: RequestContext): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Options for a step-up with a passkey. */
  stepUpOptions(auth: Authenticated, context: RequestContext): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /**
   * A5: the WebAuthn settings in force (origin, RP ID, user verification) and the options they give
   * a made-up account holding these credentials; nothing is stored.
   */
  settings(sample: { user: { id: string; email: string }; existing: KnownCredential[] }): Promise<WebauthnSettings>;
  /** A5: passwordless sign-in; a passkey with user verification is two factors by itself. */
  signIn(
    response: AuthenticationResponseJSON,
    context: RequestContext,
  ): Promise<{ token: string; session: Session; user: { id: string; email: string; emailVerified: boolean } }>;
  /** Finishes a pending sign-in with a passkey; the session id rotates. */
  completeSignIn(
    pending: Authenticated,
    response: AuthenticationResponseJSON,
    context: RequestContext,
  ): Promise<{ token: string; session: Session }>;
  /** S2 step-up with a passkey; the new session token. */
  stepUp(auth: Authenticated, response: AuthenticationResponseJSON, context: RequestContext): Promise<string>;
}

async function list(ctx: PasskeyContext, userId: string): Promise<Passkey[]> {
  const rows = await ctx.db.withSystem((tx) => passkeysOf(tx, userId));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    backedUp: r.backed_up,
  }));
}

/**
 * The options of a registration: several passkeys per account, each authenticator once (the ones it
 * has are excluded), discoverable (passwordless sign-in) and user-verifying. Nothing is stored.
 */
async function creationOptions(
  ctx: Pick<PasskeyContext, 'rpID'>,
  user: { id: string; email: string },
  existing: KnownCredential[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return (await webauthnLibrary()).generateRegistrationOptions({
    rpName: 'Rampart',
    rpID: ctx.rpID,
    userName: user.email,
    userID: uuidBytes(user.id),
    attestationType: 'none',
    excludeCredentials: existing,
    authenticatorSelection: { residentKey: 'required', userVerification: USER_VERIFICATION },
  });
}

/** Adding a factor is sensitive too (a stolen session must not plant its own passkey): step-up first. */
async function registrationOptions(
  ctx: PasskeyContext,
  auth: Authenticated,
  context: RequestContext,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  await ctx.mfa.requireRecent(auth.session);
  const existing = await ctx.db.withSystem((tx) => credentialsOf(tx, auth.user.id));
  const options = await creationOptions(
    ctx,
    auth.user,
    existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
  );
  await storeChallenge(ctx, options.challenge, 'register', auth.session.id, context);
  return options;
}

/**
 * Stores a verified new passkey; the session is now two-factor and gets a new id (S2).
 * `recoveryCodesDue`: the account has no unused recovery codes (first factor): the page makes a set next.
 */
async function register(
  ctx: PasskeyContext,
  auth: Authenticated,
  name: string,
  response: RegistrationResponseJSON,
  context: RequestContext,
): Promise<{ passkey: Passkey; token: string; recoveryCodesDue: boolean }> {
  const { mfa, clock } = ctx;
  await mfa.requireRecent(auth.session);
  let verification: VerifiedRegistrationResponse | undefined;
  try {
    verification = await (await webauthnLibrary()).verifyRegistrationResponse({
      response,
      expectedChallenge: consumeChallenge(ctx, 'register', auth.session.id),
      expectedOrigin: ctx.origin,
      expectedRPID: ctx.rpID,
      requireUserVerification: USER_VERIFICATION === 'required',
    });
  } catch {
    verification = undefined;
  }
  if (!verification?.verified)
    throw mfaError('passkey_failed', { message: 'The passkey could not be registered. Try again.' });
  const info = verification.registrationInfo;
  const result = await ctx.sessions.write(async (tx, s) => {
    const row = await insertPasskey(tx, {
      userId: auth.user.id,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      name: name.trim(),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      now: clock.now(),
    });
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
    const factor = info.credentialBackedUp ? 'synced_passkey' : 'passkey';
    const token = await s.rotate(auth.session.id, { reason: 'second_factor_added', authLevel: 2, factor, context });
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
  mfa.internals.send(factorChangedMail(auth.user.email, `passkey “${result.passkey.name}”`, 'added', ctx.baseUrl));
  return result;
}

async function rename(
  ctx: PasskeyContext,
  auth: Authenticated,
  passkeyId: string,
  name: string,
  context: RequestContext,
): Promise<void> {
  await ctx.db.withSystem(async (tx) => {
    if (!(await renamePasskey(tx, auth.user.id, passkeyId, name.trim()))) throw notFound('That passkey');
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
      ctx.clock,
    );
  });
}

/** Revokes one passkey (step-up). With no second factor left, the recovery codes go too. */
async function remove(ctx: PasskeyContext, auth: Authenticated, passkeyId: string, context: RequestContext) {
  await ctx.mfa.requireRecent(auth.session);
  const name = await ctx.db.withSystem(async (tx) => {
    const removed = await deletePasskey(tx, auth.user.id, passkeyId);
    if (removed === undefined) throw notFound('That passkey');
    const recoveryCodesRemoved = hasSecondFactor(await factorsOf(tx, auth.user.id))
      ? false
      : await deleteRecoveryCodes(tx, auth.user.id);
    await appendAudit(
      tx,
      {
        stream: userStream(auth.user.id),
        action: 'mfa.passkey_removed',
        actor: actor(auth.user.id),
        target: `passkey:${passkeyId}`,
        context,
        payload: { name: removed, recoveryCodesRemoved },
      },
      ctx.clock,
    );
    return removed;
  });
  ctx.mfa.internals.send(factorChangedMail(auth.user.email, `passkey “${name}”`, 'removed', ctx.baseUrl));
}

/** A5: passwordless sign-in. A passkey with user verification is two factors by itself. */
async function signIn(ctx: PasskeyContext, response: AuthenticationResponseJSON, context: RequestContext) {
  const assertion = await verifyAssertion(ctx, 'sign_in', null, null, response, context);
  const userId = assertion.userId;
  return signedWith(ctx, assertion, context, async (tx, s) => {
    const user = await signInUserOf(tx, userId);
    const { token, session } = await s.create(userId, {
      method: 'passkey',
      authLevel: 2,
      factor: assertion.factor,
      context,
    });
    return {
      token,
      session,
      user: { id: user.id, email: user.email, emailVerified: user.email_verified_at !== null },
    };
  });
}

async function completeSignIn(
  ctx: PasskeyContext,
  pending: Authenticated,
  response: AuthenticationResponseJSON,
  context: RequestContext,
) {
  const assertion = await verifyAssertion(ctx, 'second_factor', pending.session.id, pending.user.id, response, context);
  return signedWith(ctx, assertion, context, (_tx, s) =>
    s.completeSignIn(pending.session.id, assertion.factor, context),
  );
}

async function stepUp(
  ctx: PasskeyContext,
  auth: Authenticated,
  response: AuthenticationResponseJSON,
  context: RequestContext,
): Promise<string> {
  const assertion = await verifyAssertion(ctx, 'step_up', auth.session.id, auth.user.id, response, context);
  return signedWith(ctx, assertion, context, async (tx, s) => {
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
      ctx.clock,
    );
    return s.rotate(auth.session.id, { reason: 'step_up', authLevel: 2, factor: assertion.factor, context });
  });
}

/**
 * A5 with @simplewebauthn: registration and assertion ceremonies. User verification is required,
 * origin and RP ID are checked, the signature counter must move forward (the library refuses a
 * counter that did not grow when either side is non-zero), and each challenge is used once.
 */
export function createPasskeyService(deps: PasskeyDeps): PasskeyService {
  const { origin, hostname: rpID } = new URL(deps.baseUrl);
  const ctx: PasskeyContext = { ...deps, origin, rpID };
  return {
    list: (userId) => list(ctx, userId),
    registrationOptions: (auth, context) => registrationOptions(ctx, auth, context),
    register: (auth, name, response, context) => register(ctx, auth, name, response, context),
    rename: (auth, passkeyId, name, context) => rename(ctx, auth, passkeyId, name, context),
    remove: (auth, passkeyId, context) => remove(ctx, auth, passkeyId, context),
    signInOptions: (context) => assertionOptions(ctx, 'sign_in', null, context),
    secondFactorOptions: (pending, context) => assertionOptions(ctx, 'second_factor', pending.session, context),
    stepUpOptions: (auth, context) => assertionOptions(ctx, 'step_up', auth.session, context),
    settings: async ({ user, existing }) => ({
      origin,
      rpID,
      userVerification: USER_VERIFICATION,
      registration: await creationOptions(ctx, user, existing),
      assertion: await requestOptions(ctx, []),
    }),
    signIn: (response, context) => signIn(ctx, response, context),
    completeSignIn: (pending, response, context) => completeSignIn(ctx, pending, response, context),
    stepUp: (auth, response, context) => stepUp(ctx, auth, response, context),
  };
}

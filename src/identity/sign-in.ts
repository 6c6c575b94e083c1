import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  actor,
  deviceFor,
  type IdentityDeps,
  invalidCredentials,
  normalizeEmail,
  type SignedIn,
  send,
  weakPassword,
} from './deps.js';
import { consumeToken, guardTokenUse, issueToken, mailLinkIfAccount, markVerified } from './links.js';
import { existingAccountMail, magicLinkMail, verifyEmailMail } from './mails.js';
import { passwordProblem } from './password-policy.js';
import * as repo from './repository.js';

/* Sign-up, email verification, and signing in with a password or a magic link. */

/** A1. Answers the same for a new and an existing address; the existing owner gets a notice instead. */
export async function signUp(
  deps: IdentityDeps,
  emailInput: string,
  password: string,
  context: RequestContext,
): Promise<void> {
  const { db, hasher, limits, clock } = deps;
  const email = normalizeEmail(emailInput);
  enforce(await limits.signUpByIp.consume(context.ip ?? 'unknown'));
  const problem = await passwordProblem(password, { email });
  if (problem) throw weakPassword(problem);
  const passwordHash = await hasher.hash(password); // both paths pay for it: equal timing
  const mail = await db.withSystem(async (tx) => {
    const now = clock.now();
    // Two sign-ups for one new address at once: the second waits for the first and finds it taken.
    const user = await repo.insertUserUnlessTaken(tx, {
      email,
      password_hash: passwordHash,
      password_changed_at: now,
      created_at: now,
    });
    if (!user) {
      const existing = await repo.getUserIdByEmail(tx, email);
      await appendAudit(
        tx,
        { stream: userStream(existing.id), action: 'user.sign_up_for_existing_email', context },
        clock,
      );
      return existingAccountMail(email, deps.baseUrl);
    }
    await appendAudit(
      tx,
      { stream: userStream(user.id), action: 'user.signed_up', actor: actor(user.id), context },
      clock,
    );
    return verifyEmailMail(email, await issueToken(deps, tx, user.id, 'verify_email'), deps.baseUrl);
  });
  send(deps, mail);
}

/** A1: the mailed link proves the address. */
export async function verifyEmail(
  deps: IdentityDeps,
  token: string,
  context: RequestContext,
): Promise<{ userId: string }> {
  await guardTokenUse(deps, context, token);
  return deps.sessions.write(async (tx, s) => {
    const row = await consumeToken(deps, tx, token, 'verify_email');
    await markVerified(deps, tx, row.user_id, row.email_verified_at, context);
    s.forgetUser(row.user_id);
    return { userId: row.user_id };
  });
}

/** Answers the same whatever the address; mails only an existing, unverified account. */
export const resendVerification = (deps: IdentityDeps, email: string, context: RequestContext) =>
  mailLinkIfAccount(deps, email, context, 'verify_email', 'user.verification_resent', verifyEmailMail);

/**
 * Password sign-in. Unknown address, wrong password, and an unverified account's wrong password
 * all answer invalid_credentials after one Argon2id verification. A correct password on an
 * unverified account gets a session that reaches only "check your e-mail".
 */
export async function signInWithPassword(
  deps: IdentityDeps,
  emailInput: string,
  password: string,
  context: RequestContext,
): Promise<SignedIn> {
  const { db, hasher, limits, devices, background, clock } = deps;
  const email = normalizeEmail(emailInput);
  enforce(await limits.signInByIp.consume(context.ip ?? 'unknown'));
  // A8: a browser that signed in here before has its own backoff; every other attempt shares the
  // account's. Taken before anything else is done, so a refused attempt costs nothing.
  const device = devices.deviceOf(context.device, email);
  const [backoff, key] = device ? [limits.passwordByDevice, device] : [limits.passwordByAccount, email];
  enforce(await backoff.reserve(key));
  const user = await db.withSystem((tx) => repo.findUserForSignIn(tx, email));
  const ok = user?.password_hash
    ? await hasher.verify(user.password_hash, password)
    : await hasher.verifyAgainstDummy(password);
  if (!user || !ok) {
    // Recorded after the answer, which must take as long for an unknown address (A1).
    if (user) {
      background.run(() =>
        db.withSystem((tx) =>
          appendAudit(
            tx,
            {
              stream: userStream(user.id),
              action: 'user.sign_in_failed',
              context,
              payload: { method: 'password', reason: 'wrong_password', knownDevice: Boolean(device) },
            },
            clock,
          ),
        ),
      );
    }
    throw invalidCredentials();
  }
  await backoff.succeed(key);
  const rehash = hasher.needsRehash(user.password_hash!) ? await hasher.hash(password) : undefined;
  return deps.sessions.write(async (tx, s) => {
    if (rehash) await repo.rehashPassword(tx, user.id, rehash);
    const { token, session } = await s.create(user.id, { method: 'password', authLevel: 1, context });
    return {
      token,
      session,
      user: { id: user.id, email: user.email, emailVerified: user.email_verified_at !== null },
      device: deviceFor(deps, user.email, context),
    };
  });
}

/** A2. Answers the same whether or not the account exists. */
export const requestMagicLink = (deps: IdentityDeps, email: string, context: RequestContext) =>
  mailLinkIfAccount(deps, email, context, 'magic_link', 'user.magic_link_requested', magicLinkMail);

/** A2: single use, 15 minutes; using it also verifies the address. */
export async function signInWithMagicLink(
  deps: IdentityDeps,
  token: string,
  context: RequestContext,
): Promise<SignedIn> {
  await guardTokenUse(deps, context, token);
  return deps.sessions.write(async (tx, s) => {
    const row = await consumeToken(deps, tx, token, 'magic_link');
    await markVerified(deps, tx, row.user_id, row.email_verified_at, context);
    await appendAudit(
      tx,
      { stream: userStream(row.user_id), action: 'user.magic_link_used', actor: actor(row.user_id), context },
      deps.clock,
    );
    const { token: sessionToken, session } = await s.create(row.user_id, {
      method: 'magic_link',
      authLevel: 1,
      context,
    });
    return {
      token: sessionToken,
      session,
      user: { id: row.user_id, email: row.email, emailVerified: true },
      device: deviceFor(deps, row.email, context),
    };
  });
}

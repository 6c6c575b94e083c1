import { appendAudit, userStream } from '../platform/audit/events.js';
import type { Tx } from '../platform/db/database.js';
import type { RequestContext } from '../platform/request-context.js';
import type { SessionOps } from '../sessions/index.js';
import { actor, deviceFor, type IdentityDeps, normalizeEmail, type SignedIn } from './deps.js';
import * as repo from './repository.js';

/*
 * A7: what the external sign-in feature asks of identity. It proves who the person is at an upstream
 * provider; identity alone makes accounts and starts sessions, with the same rules as a password
 * sign-in (a second factor still asked for, the same session creation and audit events).
 */

/** A way to sign in that another feature puts on the sign-in page: a form button posting to `action`. */
export interface SignInOption {
  action: string;
  label: string;
  /** The site the form's redirects lead to (the page's CSP form-action must allow it). */
  target?: string;
}
export type SignInOptionSource = () => Promise<readonly SignInOption[]>;

/** Work the caller does in the transaction that starts the session (recording the link it used). */
export type Within = (tx: Tx, userId: string) => Promise<void>;

async function startSession(
  deps: IdentityDeps,
  s: SessionOps,
  user: SignedIn['user'],
  context: RequestContext,
): Promise<SignedIn> {
  // One factor, as a password: an account with a second factor gets a pending session (S2, A4).
  const { token, session } = await s.create(user.id, { method: 'external', authLevel: 1, context });
  return { token, session, user, device: deviceFor(deps, user.email, context) };
}

/** A new account and its session, or the account that already has the address (nothing was done to it). */
export type ExternalAccount = { created: SignedIn } | { taken: { userId: string } };

/**
 * A7: a new account for a person an upstream provider vouches for, its address verified there. It
 * has no password (a reset link sets one). When the address already has an account, that one is
 * never linked by address alone: the caller hears whose it is and refuses.
 */
export async function createExternalAccount(
  deps: IdentityDeps,
  emailInput: string,
  context: RequestContext,
  within: Within,
): Promise<ExternalAccount> {
  const email = normalizeEmail(emailInput);
  return deps.sessions.write(async (tx, s) => {
    const now = deps.clock.now();
    const user = await repo.insertUserUnlessTaken(tx, { email, email_verified_at: now, created_at: now });
    if (!user) return { taken: { userId: (await repo.getUserIdByEmail(tx, email)).id } };
    await appendAudit(
      tx,
      {
        stream: userStream(user.id),
        action: 'user.signed_up',
        actor: actor(user.id),
        context,
        payload: { method: 'external' },
      },
      deps.clock,
    );
    await within(tx, user.id);
    return { created: await startSession(deps, s, { id: user.id, email, emailVerified: true }, context) };
  });
}

/** A7: signs in the account an upstream identity is linked to, as a password sign-in would. */
export async function signInExternal(
  deps: IdentityDeps,
  userId: string,
  context: RequestContext,
  within: Within,
): Promise<SignedIn> {
  return deps.sessions.write(async (tx, s) => {
    const user = await repo.findUserForSignInById(tx, userId);
    if (!user) throw new Error('a linked identity names no account'); // the link cascades with its account
    await within(tx, user.id);
    return startSession(
      deps,
      s,
      { id: user.id, email: user.email, emailVerified: user.email_verified_at !== null },
      context,
    );
  });
}

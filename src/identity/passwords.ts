import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Tx } from '../platform/db/database.js';
import type { Session, SessionOps } from '../sessions/index.js';
import { actor, deviceFor, type IdentityDeps, type SignedIn, send, weakPassword } from './deps.js';
import { identityError } from './errors.js';
import { consumeToken, guardTokenUse, mailLinkIfAccount, markVerified, revokeLinks, unusedLink } from './links.js';
import { passwordChangedMail, passwordResetMail } from './mails.js';
import { passwordProblem } from './password-policy.js';
import * as repo from './repository.js';

/* Password reset by mailed link, and a signed-in person's password change. */

/** A3. Answers the same whether or not the account exists. */
export const requestPasswordReset = (deps: IdentityDeps, email: string, context: RequestContext) =>
  mailLinkIfAccount(deps, email, context, 'password_reset', 'user.password_reset_requested', passwordResetMail);

/** Checks a reset link without using it, so the form can say at once that it expired. */
export const resetLinkIsValid = async (deps: IdentityDeps, token: string): Promise<boolean> =>
  (await unusedLink(deps, token, 'password_reset')) !== undefined;

/** A3: sets the password, signs out every session, mails a notice, and signs this browser in. */
export async function resetPassword(
  deps: IdentityDeps,
  token: string,
  password: string,
  context: RequestContext,
): Promise<SignedIn> {
  const { hasher, limits } = deps;
  await guardTokenUse(deps, context, token);
  const passwordHash = await hasher.hash(password);
  const result = await deps.sessions.write(async (tx, s) => {
    const row = await consumeToken(deps, tx, token, 'password_reset');
    const problem = await passwordProblem(password, { email: row.email });
    if (problem) throw weakPassword(problem);
    return (await applyReset(deps, tx, s, row, passwordHash, context)).signedIn;
  });
  // The mailbox proved it is the owner: guesses made before the new password no longer count.
  await limits.passwordByAccount.succeed(result.user.email);
  send(deps, passwordChangedMail(result.user.email, 'reset', deps.baseUrl));
  return result;
}

/**
 * A3, once the reset link is spent and the new password accepted: sets it, ends every mailed link
 * and every session of the account, and signs this browser in. Also the live check's code path.
 */
export async function applyReset(
  deps: IdentityDeps,
  tx: Tx,
  s: SessionOps,
  row: { user_id: string; email: string; email_verified_at: Date | null },
  passwordHash: string,
  context: RequestContext,
): Promise<{ signedIn: SignedIn; revoked: number }> {
  const { clock } = deps;
  await repo.setPassword(tx, row.user_id, passwordHash, clock.now());
  await revokeLinks(deps, tx, row.user_id);
  await markVerified(deps, tx, row.user_id, row.email_verified_at, context);
  const revoked = await s.revoke({ userId: row.user_id }, 'password_reset');
  await appendAudit(
    tx,
    {
      stream: userStream(row.user_id),
      action: 'user.password_reset',
      actor: actor(row.user_id),
      context,
      payload: { sessionsRevoked: revoked },
    },
    clock,
  );
  const { token: sessionToken, session } = await s.create(row.user_id, {
    method: 'password_reset',
    authLevel: 1,
    context,
  });
  const user = { id: row.user_id, email: row.email, emailVerified: true };
  return { signedIn: { token: sessionToken, session, user, device: deviceFor(deps, row.email, context) }, revoked };
}

/** Needs the current password; signs out every other session and mails a notice. */
export async function changePassword(
  deps: IdentityDeps,
  session: Session,
  current: string,
  next: string,
  context: RequestContext,
): Promise<void> {
  const { db, hasher, limits, clock } = deps;
  await deps.requireRecentAuth(session);
  const user = await db.withSystem((tx) => repo.getUserCredentials(tx, session.userId));
  enforce(await limits.passwordBySession.reserve(session.id));
  if (!user.password_hash || !(await hasher.verify(user.password_hash, current))) {
    await db.withSystem((tx) =>
      appendAudit(
        tx,
        { stream: userStream(user.id), action: 'user.password_change_failed', actor: actor(user.id), context },
        clock,
      ),
    );
    throw identityError('invalid_credentials', {
      message: 'Your current password is not right.',
      fields: [{ field: 'currentPassword', message: 'is not your current password' }],
    });
  }
  await limits.passwordBySession.succeed(session.id);
  const problem = await passwordProblem(next, { email: user.email });
  if (problem) throw weakPassword(problem, 'newPassword');
  const passwordHash = await hasher.hash(next);
  await deps.sessions.write(async (tx, s) => {
    await repo.setPassword(tx, user.id, passwordHash, clock.now());
    await revokeLinks(deps, tx, user.id);
    const revoked = await s.revoke({ userId: user.id, exceptSessionId: session.id }, 'password_changed');
    await appendAudit(
      tx,
      {
        stream: userStream(user.id),
        action: 'user.password_changed',
        actor: actor(user.id),
        context,
        payload: { sessionsRevoked: revoked },
      },
      clock,
    );
  });
  send(deps, passwordChangedMail(user.email, 'changed', deps.baseUrl));
}

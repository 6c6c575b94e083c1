import { appendAudit, userStream } from '../platform/audit/events.js';
import { consumeAll } from '../platform/limits/enforce.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Session } from '../sessions/index.js';
import { actor, type IdentityDeps, normalizeEmail, send } from './deps.js';
import { identityError } from './errors.js';
import { consumeToken, guardTokenUse, issueToken, unusedLink } from './links.js';
import { emailChangedMail, emailChangeMail, emailChangeToTakenMail } from './mails.js';
import * as repo from './repository.js';

/* S2: moving an account to another address, proved by a link mailed there. */

/** The address an unused email-change link would move its account to, so the page can name it. */
export const emailChangeTarget = async (deps: IdentityDeps, token: string): Promise<string | undefined> =>
  (await unusedLink(deps, token, 'email_change'))?.new_email ?? undefined;

/**
 * S2: asks to move the account to another address (step-up). The link goes to the new address;
 * the answer is the same whether or not that address already has an account (its owner is told).
 */
export async function requestEmailChange(
  deps: IdentityDeps,
  session: Session,
  newEmailInput: string,
  context: RequestContext,
): Promise<void> {
  const { db, limits, clock } = deps;
  await deps.requireRecentAuth(session);
  const newEmail = normalizeEmail(newEmailInput);
  const user = await db.withSystem((tx) => repo.getUserEmail(tx, session.userId));
  if (newEmail === user.email)
    throw identityError('same_email', { fields: [{ field: 'email', message: 'is already your address' }] });
  await consumeAll([
    [limits.mailByIp, context.ip ?? 'unknown'],
    [limits.mailByAccountAndIp, `${user.email}|${context.ip ?? 'unknown'}`],
    [limits.emailChangeByAccount, user.email],
  ]);
  const mail = await db.withSystem(async (tx) => {
    const taken = await repo.findUserIdByEmail(tx, newEmail);
    await appendAudit(
      tx,
      {
        stream: userStream(user.id),
        action: 'user.email_change_requested',
        actor: actor(user.id),
        context,
        payload: { to: newEmail },
      },
      clock,
    );
    if (taken) return emailChangeToTakenMail(newEmail, deps.baseUrl);
    return emailChangeMail(newEmail, await issueToken(deps, tx, user.id, 'email_change', newEmail), deps.baseUrl);
  });
  send(deps, mail);
}

/** S2: the link from the new address moves the account there (verified), and the old address is told. */
export async function confirmEmailChange(
  deps: IdentityDeps,
  token: string,
  context: RequestContext,
): Promise<{ userId: string; email: string }> {
  const { clock } = deps;
  await guardTokenUse(deps, context, token);
  const { userId, from, to } = await deps.sessions.write(async (tx, s) => {
    const row = await consumeToken(deps, tx, token, 'email_change');
    const to = row.new_email!;
    const taken = await repo.findUserIdByEmail(tx, to);
    if (taken) throw identityError('email_taken');
    await repo.setEmail(tx, row.user_id, to, clock.now());
    // Links mailed to the old address must not work for the account any more.
    await repo.spendAllLinks(tx, row.user_id, clock.now());
    await appendAudit(
      tx,
      {
        stream: userStream(row.user_id),
        action: 'user.email_changed',
        actor: actor(row.user_id),
        context,
        payload: { from: row.email, to },
      },
      clock,
    );
    s.forgetUser(row.user_id);
    return { userId: row.user_id, from: row.email, to };
  });
  send(deps, emailChangedMail(from, to, deps.baseUrl));
  return { userId, email: to };
}

import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import { hashToken, looksLikeToken, randomToken } from '../platform/crypto/tokens.js';
import type { Tx } from '../platform/db/database.js';
import type { EmailTokenPurpose } from '../platform/db/tables.js';
import { consumeAll, enforce } from '../platform/limits/enforce.js';
import type { MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { actor, type IdentityDeps, invalidLink, type LinkLifetimes, normalizeEmail } from './deps.js';
import { RESEND_AFTER_MS } from './limits.js';
import * as repo from './repository.js';

/* Mailed links: issuing, using, reading and revoking them, and mailing one only when there is an account. */

export const LINK_LIFETIMES: LinkLifetimes = {
  verify_email: 24 * 60 * 60 * 1000,
  magic_link: 15 * 60 * 1000,
  password_reset: 60 * 60 * 1000,
  email_change: 60 * 60 * 1000,
};

const LINK_PATH: Record<EmailTokenPurpose, string> = {
  verify_email: '/verify-email',
  magic_link: '/magic-link/confirm',
  password_reset: '/reset-password',
  email_change: '/account/email/confirm',
};

/** A3: a new password or address ends every sign-in and reset link mailed before it. */
export async function revokeLinks(deps: IdentityDeps, tx: Tx, userId: string): Promise<void> {
  await repo.spendSignInLinks(tx, userId, deps.clock.now());
}

export async function issueToken(
  deps: IdentityDeps,
  tx: Tx,
  userId: string,
  purpose: EmailTokenPurpose,
  newEmail?: string,
): Promise<string> {
  const token = randomToken(deps.random);
  const now = deps.clock.now();
  // A new link supersedes the older ones of the same purpose.
  await repo.spendLinksOfPurpose(tx, userId, purpose, now);
  await repo.insertLink(tx, {
    user_id: userId,
    purpose,
    token_hash: hashToken(token),
    created_at: now,
    expires_at: new Date(now.getTime() + deps.linkLifetimes[purpose]),
    new_email: newEmail ?? null,
  });
  const link = new URL(LINK_PATH[purpose], deps.baseUrl);
  link.searchParams.set('token', token);
  return link.toString();
}

/** Marks a token used and returns its user, or throws invalid_link (unknown, expired, used, wrong purpose). */
export async function consumeToken(deps: IdentityDeps, tx: Tx, token: string, purpose: EmailTokenPurpose) {
  const row = await repo.lockLinkWithUser(tx, hashToken(token), purpose);
  if (!row || row.used_at || row.expires_at <= deps.clock.now()) throw invalidLink();
  await repo.spendLink(tx, row.id, deps.clock.now());
  return row;
}

/** Reads a link without using it: undefined when unknown, used or expired. */
export async function unusedLink(deps: IdentityDeps, token: string, purpose: EmailTokenPurpose) {
  if (!looksLikeToken(token)) return undefined;
  const row = await deps.db.withSystem((tx) => repo.findLink(tx, hashToken(token), purpose));
  return row && !row.used_at && row.expires_at > deps.clock.now() ? row : undefined;
}

/** A8 for links: bounded per IP, and a bad token is never a hint about accounts. */
export async function guardTokenUse(deps: IdentityDeps, context: RequestContext, token: string): Promise<void> {
  enforce(await deps.limits.tokenUseByIp.consume(context.ip ?? 'unknown'));
  if (!looksLikeToken(token)) throw invalidLink();
}

/**
 * Mails a link to an existing account; answers the same, after the same limits, when there is none.
 * Only the per-IP limits can refuse: everything that depends on the account happens after the
 * response. A live link of the purpose mailed under RESEND_AFTER ago is not replaced (A8: many
 * requests cannot flood the owner, and the newest link in their mailbox keeps working).
 */
export async function mailLinkIfAccount(
  deps: IdentityDeps,
  emailInput: string,
  context: RequestContext,
  purpose: EmailTokenPurpose,
  action: AuditAction,
  compose: (to: string, link: string, baseUrl: string) => MailMessage,
): Promise<void> {
  const { db, limits, background, clock } = deps;
  const email = normalizeEmail(emailInput);
  await consumeAll([
    [limits.mailByIp, context.ip ?? 'unknown'],
    [limits.mailByAccountAndIp, `${email}|${context.ip ?? 'unknown'}`],
  ]);
  background.run(async () => {
    const mail = await db.withSystem(async (tx) => {
      // The row lock makes concurrent requests for one account take turns: one link, one mail.
      const user = await repo.lockUserByEmail(tx, email);
      if (!user || (purpose === 'verify_email' && user.email_verified_at)) return undefined;
      const now = clock.now();
      const recent = await repo.latestLiveLink(tx, user.id, purpose, now, new Date(now.getTime() - RESEND_AFTER_MS));
      await appendAudit(
        tx,
        {
          stream: userStream(user.id),
          action,
          context,
          payload: recent ? { mailed: false, reason: 'recent_link_live' } : { mailed: true },
        },
        clock,
      );
      return recent ? undefined : compose(email, await issueToken(deps, tx, user.id, purpose), deps.baseUrl);
    });
    if (mail) await deps.mailer.send(mail);
  });
}

/** Marks the address verified (and audits it) unless it already was; true when it changed. */
export async function markVerified(
  deps: IdentityDeps,
  tx: Tx,
  userId: string,
  verifiedAt: Date | null,
  context: RequestContext,
): Promise<boolean> {
  if (verifiedAt) return false;
  await repo.markEmailVerified(tx, userId, deps.clock.now());
  await appendAudit(
    tx,
    { stream: userStream(userId), action: 'user.email_verified', actor: actor(userId), context },
    deps.clock,
  );
  return true;
}

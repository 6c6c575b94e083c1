import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import type { DeviceTokens } from '../platform/crypto/device-tokens.js';
import type { PasswordHasher } from '../platform/crypto/passwords.js';
import { hashToken, looksLikeToken, randomToken, type RandomSource } from '../platform/crypto/tokens.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { EmailTokenPurpose } from '../platform/db/tables.js';
import { identityError } from './errors.js';
import type { Mailer, MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { type Session, type SessionService } from '../sessions/index.js';
import { consumeAll, enforce } from '../platform/limits/enforce.js';
import { RESEND_AFTER_MS, type IdentityLimits } from './limits.js';
import {
  emailChangedMail,
  emailChangeMail,
  emailChangeToTakenMail,
  existingAccountMail,
  magicLinkMail,
  passwordChangedMail,
  passwordResetMail,
  verifyEmailMail,
} from './mails.js';
import { passwordProblem } from './password-policy.js';

const TOKEN_LIFETIME: Record<EmailTokenPurpose, number> = {
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

export interface IdentityDeps {
  db: Tenancy;
  sessions: SessionService;
  hasher: PasswordHasher;
  mailer: Mailer;
  limits: IdentityLimits;
  devices: DeviceTokens;
  /** Mail and other work the answer must not wait for (timing would tell whether an account exists). */
  background: Background;
  clock: Clock;
  baseUrl: string;
  /** S2: throws unless the session authenticated recently enough for a sensitive change. */
  requireRecentAuth: (session: Session) => Promise<void>;
  random?: RandomSource;
}

export interface SignedIn {
  token: string;
  session: Session;
  user: { id: string; email: string; emailVerified: boolean };
  /** The device cookie for this browser: it has now signed in to this account (A8). */
  device: string;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

const invalidCredentials = () => identityError('invalid_credentials');
const invalidLink = () => identityError('invalid_link');
const weakPassword = (reason: string, field = 'password') =>
  identityError('weak_password', { message: reason, fields: [{ field, message: reason }] });

export type IdentityService = ReturnType<typeof createIdentityService>;

export function createIdentityService(deps: IdentityDeps) {
  const { db, sessions, hasher, limits, devices, background, clock } = deps;
  const actor = (userId: string) => `user:${userId}`;

  function send(message: MailMessage): void {
    // After the commit and off the response path: identical timing whether or not mail was due.
    background.run(() => deps.mailer.send(message));
  }

  /** Keeps the device cookie the browser already holds for this account, or issues one. */
  const deviceFor = (email: string, context: RequestContext) =>
    devices.deviceOf(context.device, email) ? context.device! : devices.issue(email);

  /** A3: a new password or address ends every sign-in and reset link mailed before it. */
  async function revokeLinks(tx: Tx, userId: string): Promise<void> {
    await tx
      .updateTable('email_tokens')
      .set({ used_at: clock.now() })
      .where('user_id', '=', userId)
      .where('purpose', 'in', ['magic_link', 'password_reset'])
      .where('used_at', 'is', null)
      .execute();
  }

  async function issueToken(tx: Tx, userId: string, purpose: EmailTokenPurpose, newEmail?: string): Promise<string> {
    const token = randomToken(deps.random);
    const now = clock.now();
    // A new link supersedes the older ones of the same purpose.
    await tx
      .updateTable('email_tokens')
      .set({ used_at: now })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
    await tx
      .insertInto('email_tokens')
      .values({
        user_id: userId,
        purpose,
        token_hash: hashToken(token),
        created_at: now,
        expires_at: new Date(now.getTime() + TOKEN_LIFETIME[purpose]),
        new_email: newEmail ?? null,
      })
      .execute();
    const link = new URL(LINK_PATH[purpose], deps.baseUrl);
    link.searchParams.set('token', token);
    return link.toString();
  }

  /** Marks a token used and returns its user, or throws invalid_link (unknown, expired, used, wrong purpose). */
  async function consumeToken(tx: Tx, token: string, purpose: EmailTokenPurpose) {
    const row = await tx
      .selectFrom('email_tokens')
      .innerJoin('users', 'users.id', 'email_tokens.user_id')
      .select([
        'email_tokens.id',
        'email_tokens.expires_at',
        'email_tokens.used_at',
        'email_tokens.new_email',
        'users.id as user_id',
        'users.email',
        'users.email_verified_at',
      ])
      .where('email_tokens.token_hash', '=', hashToken(token))
      .where('email_tokens.purpose', '=', purpose)
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.used_at || row.expires_at <= clock.now()) throw invalidLink();
    await tx.updateTable('email_tokens').set({ used_at: clock.now() }).where('id', '=', row.id).execute();
    return row;
  }

  /** Reads a link without using it: undefined when unknown, used or expired. */
  async function unusedLink(token: string, purpose: EmailTokenPurpose) {
    if (!looksLikeToken(token)) return undefined;
    const row = await db.withSystem((tx) =>
      tx
        .selectFrom('email_tokens')
        .select(['expires_at', 'used_at', 'new_email'])
        .where('token_hash', '=', hashToken(token))
        .where('purpose', '=', purpose)
        .executeTakeFirst(),
    );
    return row && !row.used_at && row.expires_at > clock.now() ? row : undefined;
  }

  /** A8 for links: bounded per IP, and a bad token is never a hint about accounts. */
  async function guardTokenUse(context: RequestContext, token: string): Promise<void> {
    enforce(await limits.tokenUseByIp.consume(context.ip ?? 'unknown'));
    if (!looksLikeToken(token)) throw invalidLink();
  }

  /**
   * Mails a link to an existing account; answers the same, after the same limits, when there is none.
   * Only the per-IP limits can refuse: everything that depends on the account happens after the
   * response. A live link of the purpose mailed under RESEND_AFTER ago is not replaced (A8: many
   * requests cannot flood the owner, and the newest link in their mailbox keeps working).
   */
  async function mailLinkIfAccount(
    emailInput: string,
    context: RequestContext,
    purpose: EmailTokenPurpose,
    action: AuditAction,
    compose: (to: string, link: string, baseUrl: string) => MailMessage,
  ): Promise<void> {
    const email = normalizeEmail(emailInput);
    await consumeAll([
      [limits.mailByIp, context.ip ?? 'unknown'],
      [limits.mailByAccountAndIp, `${email}|${context.ip}`],
    ]);
    background.run(async () => {
      const mail = await db.withSystem(async (tx) => {
        // The row lock makes concurrent requests for one account take turns: one link, one mail.
        const user = await tx
          .selectFrom('users')
          .select(['id', 'email_verified_at'])
          .where('email', '=', email)
          .forUpdate()
          .executeTakeFirst();
        if (!user || (purpose === 'verify_email' && user.email_verified_at)) return undefined;
        const now = clock.now();
        const recent = await tx
          .selectFrom('email_tokens')
          .select('id')
          .where('user_id', '=', user.id)
          .where('purpose', '=', purpose)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .where('created_at', '>', new Date(now.getTime() - RESEND_AFTER_MS))
          .executeTakeFirst();
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
        return recent ? undefined : compose(email, await issueToken(tx, user.id, purpose), deps.baseUrl);
      });
      if (mail) await deps.mailer.send(mail);
    });
  }

  async function markVerified(
    tx: Tx,
    userId: string,
    verifiedAt: Date | null,
    context: RequestContext,
  ): Promise<boolean> {
    if (verifiedAt) return false;
    await tx.updateTable('users').set({ email_verified_at: clock.now() }).where('id', '=', userId).execute();
    await appendAudit(
      tx,
      { stream: userStream(userId), action: 'user.email_verified', actor: actor(userId), context },
      clock,
    );
    return true;
  }

  return {
    /** A1. Answers the same for a new and an existing address; the existing owner gets a notice instead. */
    async signUp(emailInput: string, password: string, context: RequestContext): Promise<void> {
      const email = normalizeEmail(emailInput);
      enforce(await limits.signUpByIp.consume(context.ip ?? 'unknown'));
      const problem = passwordProblem(password, { email });
      if (problem) throw weakPassword(problem);
      const passwordHash = await hasher.hash(password); // both paths pay for it: equal timing
      const mail = await db.withSystem(async (tx) => {
        const now = clock.now();
        // Two sign-ups for one new address at once: the second waits for the first and finds it taken.
        const user = await tx
          .insertInto('users')
          .values({ email, password_hash: passwordHash, password_changed_at: now, created_at: now })
          .onConflict((oc) => oc.column('email').doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!user) {
          const existing = await tx
            .selectFrom('users')
            .select(['id'])
            .where('email', '=', email)
            .executeTakeFirstOrThrow();
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
        return verifyEmailMail(email, await issueToken(tx, user.id, 'verify_email'), deps.baseUrl);
      });
      send(mail);
    },

    /** A1: the mailed link proves the address. */
    async verifyEmail(token: string, context: RequestContext): Promise<{ userId: string }> {
      await guardTokenUse(context, token);
      return sessions.write(async (tx, s) => {
        const row = await consumeToken(tx, token, 'verify_email');
        await markVerified(tx, row.user_id, row.email_verified_at, context);
        s.forgetUser(row.user_id);
        return { userId: row.user_id };
      });
    },

    /** Answers the same whatever the address; mails only an existing, unverified account. */
    resendVerification: (email: string, context: RequestContext) =>
      mailLinkIfAccount(email, context, 'verify_email', 'user.verification_resent', verifyEmailMail),

    /**
     * Password sign-in. Unknown address, wrong password, and an unverified account's wrong password
     * all answer invalid_credentials after one Argon2id verification. A correct password on an
     * unverified account gets a session that reaches only "check your e-mail".
     */
    async signInWithPassword(emailInput: string, password: string, context: RequestContext): Promise<SignedIn> {
      const email = normalizeEmail(emailInput);
      enforce(await limits.signInByIp.consume(context.ip ?? 'unknown'));
      // A8: a browser that signed in here before has its own backoff; every other attempt shares the
      // account's. Taken before anything else is done, so a refused attempt costs nothing.
      const device = devices.deviceOf(context.device, email);
      const [backoff, key] = device ? [limits.passwordByDevice, device] : [limits.passwordByAccount, email];
      enforce(await backoff.reserve(key));
      const user = await db.withSystem((tx) =>
        tx
          .selectFrom('users')
          .select(['id', 'email', 'password_hash', 'email_verified_at'])
          .where('email', '=', email)
          .executeTakeFirst(),
      );
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
      return sessions.write(async (tx, s) => {
        if (rehash) await tx.updateTable('users').set({ password_hash: rehash }).where('id', '=', user.id).execute();
        const { token, session } = await s.create(user.id, { method: 'password', authLevel: 1, context });
        return {
          token,
          session,
          user: { id: user.id, email: user.email, emailVerified: user.email_verified_at !== null },
          device: deviceFor(user.email, context),
        };
      });
    },

    /** A2. Answers the same whether or not the account exists. */
    requestMagicLink: (email: string, context: RequestContext) =>
      mailLinkIfAccount(email, context, 'magic_link', 'user.magic_link_requested', magicLinkMail),

    /** A2: single use, 15 minutes; using it also verifies the address. */
    async signInWithMagicLink(token: string, context: RequestContext): Promise<SignedIn> {
      await guardTokenUse(context, token);
      return sessions.write(async (tx, s) => {
        const row = await consumeToken(tx, token, 'magic_link');
        await markVerified(tx, row.user_id, row.email_verified_at, context);
        await appendAudit(
          tx,
          { stream: userStream(row.user_id), action: 'user.magic_link_used', actor: actor(row.user_id), context },
          clock,
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
          device: deviceFor(row.email, context),
        };
      });
    },

    /** A3. Answers the same whether or not the account exists. */
    requestPasswordReset: (email: string, context: RequestContext) =>
      mailLinkIfAccount(email, context, 'password_reset', 'user.password_reset_requested', passwordResetMail),

    /** Checks a reset link without using it, so the form can say at once that it expired. */
    resetLinkIsValid: async (token: string): Promise<boolean> =>
      (await unusedLink(token, 'password_reset')) !== undefined,

    /** The address an unused email-change link would move its account to, so the page can name it. */
    emailChangeTarget: async (token: string): Promise<string | undefined> =>
      (await unusedLink(token, 'email_change'))?.new_email ?? undefined,

    /** A3: sets the password, signs out every session, mails a notice, and signs this browser in. */
    async resetPassword(token: string, password: string, context: RequestContext): Promise<SignedIn> {
      await guardTokenUse(context, token);
      const passwordHash = await hasher.hash(password);
      const result = await sessions.write(async (tx, s) => {
        const row = await consumeToken(tx, token, 'password_reset');
        const problem = passwordProblem(password, { email: row.email });
        if (problem) throw weakPassword(problem);
        await tx
          .updateTable('users')
          .set({ password_hash: passwordHash, password_changed_at: clock.now() })
          .where('id', '=', row.user_id)
          .execute();
        await revokeLinks(tx, row.user_id);
        await markVerified(tx, row.user_id, row.email_verified_at, context);
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
        return {
          token: sessionToken,
          session,
          user: { id: row.user_id, email: row.email, emailVerified: true },
          device: deviceFor(row.email, context),
        };
      });
      // The mailbox proved it is the owner: guesses made before the new password no longer count.
      await limits.passwordByAccount.succeed(result.user.email);
      send(passwordChangedMail(result.user.email, 'reset', deps.baseUrl));
      return result;
    },

    /** Needs the current password; signs out every other session and mails a notice. */
    async changePassword(session: Session, current: string, next: string, context: RequestContext): Promise<void> {
      await deps.requireRecentAuth(session);
      const user = await db.withSystem((tx) =>
        tx
          .selectFrom('users')
          .select(['id', 'email', 'password_hash'])
          .where('id', '=', session.userId)
          .executeTakeFirstOrThrow(),
      );
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
      const problem = passwordProblem(next, { email: user.email });
      if (problem) throw weakPassword(problem, 'newPassword');
      const passwordHash = await hasher.hash(next);
      await sessions.write(async (tx, s) => {
        await tx
          .updateTable('users')
          .set({ password_hash: passwordHash, password_changed_at: clock.now() })
          .where('id', '=', user.id)
          .execute();
        await revokeLinks(tx, user.id);
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
      send(passwordChangedMail(user.email, 'changed', deps.baseUrl));
    },

    /**
     * S2: asks to move the account to another address (step-up). The link goes to the new address;
     * the answer is the same whether or not that address already has an account (its owner is told).
     */
    async requestEmailChange(session: Session, newEmailInput: string, context: RequestContext): Promise<void> {
      await deps.requireRecentAuth(session);
      const newEmail = normalizeEmail(newEmailInput);
      const user = await db.withSystem((tx) =>
        tx.selectFrom('users').select(['id', 'email']).where('id', '=', session.userId).executeTakeFirstOrThrow(),
      );
      if (newEmail === user.email)
        throw identityError('same_email', { fields: [{ field: 'email', message: 'is already your address' }] });
      await consumeAll([
        [limits.mailByIp, context.ip ?? 'unknown'],
        [limits.mailByAccountAndIp, `${user.email}|${context.ip}`],
        [limits.emailChangeByAccount, user.email],
      ]);
      const mail = await db.withSystem(async (tx) => {
        const taken = await tx.selectFrom('users').select('id').where('email', '=', newEmail).executeTakeFirst();
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
        return emailChangeMail(newEmail, await issueToken(tx, user.id, 'email_change', newEmail), deps.baseUrl);
      });
      send(mail);
    },

    /** S2: the link from the new address moves the account there (verified), and the old address is told. */
    async confirmEmailChange(token: string, context: RequestContext): Promise<{ userId: string; email: string }> {
      await guardTokenUse(context, token);
      const { userId, from, to } = await sessions.write(async (tx, s) => {
        const row = await consumeToken(tx, token, 'email_change');
        const to = row.new_email!;
        const taken = await tx.selectFrom('users').select('id').where('email', '=', to).executeTakeFirst();
        if (taken) throw identityError('email_taken');
        await tx
          .updateTable('users')
          .set({ email: to, email_verified_at: clock.now() })
          .where('id', '=', row.user_id)
          .execute();
        // Links mailed to the old address must not work for the account any more.
        await tx
          .updateTable('email_tokens')
          .set({ used_at: clock.now() })
          .where('user_id', '=', row.user_id)
          .where('used_at', 'is', null)
          .execute();
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
      send(emailChangedMail(from, to, deps.baseUrl));
      return { userId, email: to };
    },
  };
}

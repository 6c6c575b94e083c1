import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { RandomSource } from '../platform/crypto/random.js';
import type { PasswordHasher } from '../platform/crypto/passwords.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { AppError } from '../platform/errors.js';
import type { Mailer, MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { type Authenticated, type Session, type SessionService } from '../sessions/index.js';
import { mfaError } from './errors.js';
import { factorsOf, hasSecondFactor, type FactorState } from './factors.js';
import type { MfaLimits } from './limits.js';
import { factorChangedMail, recoveryCodeUsedMail } from './mails.js';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import { securityScore } from './score.js';
import { acceptTotp, newTotpSecret, totpUri } from './totp.js';

/** S2: sensitive actions need an authentication this recent. */
export const STEP_UP_WINDOW_MS = 10 * 60 * 1000;

export type CodeKind = 'totp' | 'recovery_code';
export type StepUpFactor = 'password' | 'totp' | 'passkey';

export interface MfaDeps {
  db: Tenancy;
  sessions: SessionService;
  keyring: Keyring;
  hasher: PasswordHasher;
  mailer: Mailer;
  limits: MfaLimits;
  clock: Clock;
  baseUrl: string;
  onMailError?: (err: unknown) => void;
  random?: RandomSource;
}

const invalidCode = (kind: CodeKind) =>
  mfaError('invalid_code', {
    message:
      kind === 'totp'
        ? 'That code is not right, or was already used. Wait for the next one.'
        : 'That recovery code is not right or was already used.',
    fields: [
      { field: 'code', message: kind === 'totp' ? 'is not the current code' : 'is not an unused recovery code' },
    ],
  });

const secretContext = (userId: string) => ({ purpose: 'totp', user: userId });

export type MfaService = ReturnType<typeof createMfaService>;

export function createMfaService(deps: MfaDeps) {
  const { db, sessions, keyring, limits, clock } = deps;
  const actor = (userId: string) => `user:${userId}`;

  function send(message: MailMessage): void {
    deps.mailer.send(message).catch((err) => deps.onMailError?.(err));
  }

  async function replaceRecoveryCodes(tx: Tx, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => newRecoveryCode(deps.random));
    await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await tx
      .insertInto('recovery_codes')
      .values(codes.map((c) => ({ user_id: userId, code_hash: hashRecoveryCode(c), created_at: clock.now() })))
      .execute();
    return codes;
  }

  /**
   * A8: a code check is limited per IP and takes its per-account attempt before the caller's
   * transaction begins, so checks sent at once cannot queue up behind it unlimited.
   */
  async function takeAttempt(userId: string, context: RequestContext): Promise<void> {
    enforce(await limits.checksByIp.consume(context.ip ?? 'unknown'));
    enforce(await limits.failures.reserve(userId));
  }

  /**
   * Checks a TOTP or recovery code in the caller's transaction, after takeAttempt. A used recovery
   * code is spent (the caller mails about it after the commit): the answer is how many are left.
   */
  async function checkCode(
    tx: Tx,
    userId: string,
    kind: CodeKind,
    code: string,
    context: RequestContext,
  ): Promise<{ ok: boolean; recoveryCodesLeft?: number }> {
    let ok = false;
    let recoveryCodesLeft: number | undefined;
    if (kind === 'totp') {
      const row = await tx
        .selectFrom('totp_credentials')
        .selectAll()
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .forUpdate()
        .executeTakeFirst();
      const step =
        row &&
        acceptTotp(
          open(keyring, row.secret_sealed, secretContext(userId)).toString('utf8'),
          code,
          clock.now(),
          row.last_used_step === null ? null : Number(row.last_used_step),
        );
      if (step !== undefined) {
        await tx.updateTable('totp_credentials').set({ last_used_step: step }).where('user_id', '=', userId).execute();
        ok = true;
      }
    } else if (looksLikeRecoveryCode(code)) {
      const used = await tx
        .updateTable('recovery_codes')
        .set({ used_at: clock.now() })
        .where('user_id', '=', userId)
        .where('code_hash', '=', hashRecoveryCode(code))
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (used) {
        recoveryCodesLeft = (await factorsOf(tx, userId)).recoveryCodesLeft;
        await appendAudit(
          tx,
          {
            stream: userStream(userId),
            action: 'mfa.recovery_code_used',
            actor: actor(userId),
            context,
            payload: { left: recoveryCodesLeft },
          },
          clock,
        );
        ok = true;
      }
    }
    if (ok) await limits.failures.succeed(userId);
    return { ok, recoveryCodesLeft };
  }

  /** Records a failed check in its own transaction (the caller's rolls back with the error). */
  async function refuse(
    userId: string,
    kind: CodeKind | 'passkey',
    context: RequestContext,
    error: AppError,
  ): Promise<never> {
    await db.withSystem((tx) =>
      appendAudit(
        tx,
        {
          stream: userStream(userId),
          action: 'mfa.check_failed',
          actor: actor(userId),
          context,
          payload: { factor: kind },
        },
        clock,
      ),
    );
    throw error;
  }

  async function state(userId: string): Promise<FactorState> {
    return db.withSystem((tx) => factorsOf(tx, userId));
  }

  /** Whether a sensitive action may go ahead on this session now, or needs step-up first. */
  async function isRecent(session: Session): Promise<boolean> {
    if (clock.now().getTime() - session.authenticatedAt.getTime() > STEP_UP_WINDOW_MS) return false;
    return session.authLevel >= 2 || !hasSecondFactor(await state(session.userId));
  }

  async function requireRecent(session: Session): Promise<void> {
    if (!(await isRecent(session))) {
      throw mfaError('step_up_required');
    }
  }

  /** Step-up offers the strongest factor the person has: passkey or app code, else the password. */
  async function stepUpFactors(userId: string): Promise<StepUpFactor[]> {
    const f = await state(userId);
    if (!hasSecondFactor(f)) return ['password'];
    return [...(f.passkeys > 0 ? (['passkey'] as const) : []), ...(f.totp ? (['totp'] as const) : [])];
  }

  return {
    state,
    isRecent,
    stepUpFactors,
    requireRecent,

    async score(userId: string) {
      return securityScore(await state(userId), clock.now());
    },
    scoreOf: (factors: FactorState) => securityScore(factors, clock.now()),

    /**
     * A4: a new secret to scan, kept sealed until a first code confirms it (replaces an unfinished one).
     * An enrollment never confirmed is simply left (no event): the next one replaces it, and says so.
     */
    async beginTotp(auth: Authenticated, context: RequestContext): Promise<{ secret: string; uri: string }> {
      await requireRecent(auth.session);
      const secret = newTotpSecret(deps.random);
      await db.withSystem(async (tx) => {
        const existing = await tx
          .selectFrom('totp_credentials')
          .select('confirmed_at')
          .where('user_id', '=', auth.user.id)
          .executeTakeFirst();
        if (existing?.confirmed_at) throw mfaError('totp_already_enabled');
        const row = {
          secret_sealed: seal(keyring, secret, secretContext(auth.user.id)),
          created_at: clock.now(),
          confirmed_at: null,
          last_used_step: null,
        };
        await tx
          .insertInto('totp_credentials')
          .values({ user_id: auth.user.id, ...row })
          .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
          .execute();
        await appendAudit(
          tx,
          {
            stream: userStream(auth.user.id),
            action: 'mfa.totp_enrollment_started',
            actor: actor(auth.user.id),
            context,
            payload: { replacedUnfinished: existing !== undefined },
          },
          clock,
        );
      });
      return { secret, uri: totpUri(secret, auth.user.email, new URL(deps.baseUrl).host) };
    },

    /** The secret of an unfinished enrollment, to show again after a wrong first code. */
    async pendingTotp(auth: Authenticated): Promise<{ secret: string; uri: string } | undefined> {
      const row = await db.withSystem((tx) =>
        tx
          .selectFrom('totp_credentials')
          .select(['secret_sealed', 'confirmed_at'])
          .where('user_id', '=', auth.user.id)
          .executeTakeFirst(),
      );
      if (!row || row.confirmed_at) return undefined;
      const secret = open(keyring, row.secret_sealed, secretContext(auth.user.id)).toString('utf8');
      return { secret, uri: totpUri(secret, auth.user.email, new URL(deps.baseUrl).host) };
    },

    /**
     * The first code proves the app holds the secret: TOTP is on, a fresh set of recovery codes is
     * returned (shown once), and the session, now two-factor, gets a new identifier (S2).
     */
    async confirmTotp(
      auth: Authenticated,
      code: string,
      context: RequestContext,
    ): Promise<{ codes: string[]; token: string }> {
      await requireRecent(auth.session);
      const userId = auth.user.id;
      await takeAttempt(userId, context);
      const result = await sessions.write(async (tx, s) => {
        const row = await tx
          .selectFrom('totp_credentials')
          .selectAll()
          .where('user_id', '=', userId)
          .forUpdate()
          .executeTakeFirst();
        if (!row || row.confirmed_at) throw mfaError('no_enrollment');
        const step = acceptTotp(
          open(keyring, row.secret_sealed, secretContext(userId)).toString('utf8'),
          code,
          clock.now(),
          null,
        );
        if (step === undefined) return undefined;
        await tx
          .updateTable('totp_credentials')
          .set({ confirmed_at: clock.now(), last_used_step: step })
          .where('user_id', '=', userId)
          .execute();
        const codes = await replaceRecoveryCodes(tx, userId);
        await appendAudit(
          tx,
          { stream: userStream(userId), action: 'mfa.totp_enabled', actor: actor(userId), context },
          clock,
        );
        await appendAudit(
          tx,
          { stream: userStream(userId), action: 'mfa.recovery_codes_generated', actor: actor(userId), context },
          clock,
        );
        return {
          codes,
          token: await s.rotate(auth.session.id, { reason: 'second_factor_added', authLevel: 2, context }),
        };
      });
      if (!result) {
        return refuse(userId, 'totp', context, invalidCode('totp'));
      }
      await limits.failures.succeed(userId);
      send(factorChangedMail(auth.user.email, 'authenticator app', 'added', deps.baseUrl));
      return result;
    },

    /** Turning the app off (step-up). With no second factor left, the recovery codes go too. */
    async disableTotp(auth: Authenticated, context: RequestContext): Promise<void> {
      await requireRecent(auth.session);
      const userId = auth.user.id;
      await db.withSystem(async (tx) => {
        const removed = await tx
          .deleteFrom('totp_credentials')
          .where('user_id', '=', userId)
          .where('confirmed_at', 'is not', null)
          .returning('user_id')
          .executeTakeFirst();
        if (!removed) throw mfaError('totp_not_enabled');
        const recoveryCodesRemoved = hasSecondFactor(await factorsOf(tx, userId))
          ? false
          : (await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst()).numDeletedRows >
            0n;
        await appendAudit(
          tx,
          {
            stream: userStream(userId),
            action: 'mfa.totp_disabled',
            actor: actor(userId),
            context,
            payload: { recoveryCodesRemoved },
          },
          clock,
        );
      });
      send(factorChangedMail(auth.user.email, 'authenticator app', 'removed', deps.baseUrl));
    },

    /** A new set of ten codes (step-up); every older code stops working. `replaced`: unused codes that did. */
    async regenerateRecoveryCodes(
      auth: Authenticated,
      context: RequestContext,
    ): Promise<{ codes: string[]; replaced: number }> {
      await requireRecent(auth.session);
      const userId = auth.user.id;
      return db.withSystem(async (tx) => {
        const factors = await factorsOf(tx, userId);
        if (!hasSecondFactor(factors)) throw mfaError('no_second_factor');
        const codes = await replaceRecoveryCodes(tx, userId);
        await appendAudit(
          tx,
          {
            stream: userStream(userId),
            action: 'mfa.recovery_codes_generated',
            actor: actor(userId),
            context,
            payload: { replacedUnused: factors.recoveryCodesLeft },
          },
          clock,
        );
        return { codes, replaced: factors.recoveryCodesLeft };
      });
    },

    /** Finishes a pending sign-in with an app code or a recovery code; the session id rotates. */
    async completeSignIn(
      pending: Authenticated,
      kind: CodeKind,
      code: string,
      context: RequestContext,
    ): Promise<{ token: string; session: Session }> {
      const userId = pending.user.id;
      await takeAttempt(userId, context);
      const result = await sessions.write(async (tx, s) => {
        const check = await checkCode(tx, userId, kind, code, context);
        return check.ok
          ? {
              ...(await s.completeSignIn(pending.session.id, kind, context)),
              recoveryCodesLeft: check.recoveryCodesLeft,
            }
          : undefined;
      });
      if (!result) return refuse(userId, kind, context, invalidCode(kind));
      if (result.recoveryCodesLeft !== undefined)
        send(recoveryCodeUsedMail(pending.user.email, result.recoveryCodesLeft, deps.baseUrl));
      return result;
    },

    /** S2 step-up with a password or an app code: the session is freshly authenticated and its id rotates. */
    async stepUp(
      auth: Authenticated,
      factor: 'password' | 'totp',
      secret: string,
      context: RequestContext,
    ): Promise<string> {
      const userId = auth.user.id;
      // A password is counted per session: whoever holds one session cannot block the owner's codes.
      const key = `session:${auth.session.id}`;
      if (factor === 'password') enforce(await limits.failures.reserve(key));
      else await takeAttempt(userId, context);
      const offered = await stepUpFactors(userId);
      if (!offered.includes(factor)) throw mfaError('factor_not_allowed');
      if (factor === 'password') {
        const row = await db.withSystem((tx) =>
          tx.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow(),
        );
        if (!row.password_hash || !(await deps.hasher.verify(row.password_hash, secret))) {
          await db.withSystem((tx) =>
            appendAudit(
              tx,
              {
                stream: userStream(userId),
                action: 'user.step_up_failed',
                actor: actor(userId),
                context,
                payload: { factor },
              },
              clock,
            ),
          );
          throw mfaError('invalid_credentials', { fields: [{ field: 'password', message: 'is not your password' }] });
        }
        await limits.failures.succeed(key);
      }
      const token = await sessions.write(async (tx, s) => {
        if (factor === 'totp' && !(await checkCode(tx, userId, 'totp', secret, context)).ok) return undefined;
        await appendAudit(
          tx,
          {
            stream: userStream(userId),
            action: 'user.stepped_up',
            actor: actor(userId),
            target: `session:${auth.session.id}`,
            context,
            payload: { factor },
          },
          clock,
        );
        return s.rotate(auth.session.id, { reason: 'step_up', authLevel: factor === 'password' ? 1 : 2, context });
      });
      return token ?? refuse(userId, 'totp', context, invalidCode('totp'));
    },

    /** Shared with the passkey ceremonies: failed checks are recorded alike, mail goes out alike. */
    internals: { refuse, send },
  };
}

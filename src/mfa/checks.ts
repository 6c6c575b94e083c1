import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import { open } from '../platform/crypto/envelope.js';
import type { Tx } from '../platform/db/database.js';
import type { AppError } from '../platform/errors.js';
import type { MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Session } from '../sessions/index.js';
import { mfaError } from './errors.js';
import { hasSecondFactor, type FactorState } from './factors.js';
import { hashRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.js';
import { factorsOf, lockConfirmedTotp, setTotpLastUsedStep, spendRecoveryCode } from './repository.js';
import type { CodeKind, MfaDeps, StepUpFactor } from './service.js';
import { acceptTotp } from './totp.js';

/*
 * What the MFA operations share: code checks and their limits, the record of a failed check, mail,
 * and whether a session is recent enough for a sensitive action (S2).
 */

/** S2: sensitive actions need an authentication this recent. */
export const STEP_UP_WINDOW_MS = 10 * 60 * 1000;

export const actor = (userId: string) => `user:${userId}`;

export const secretContext = (userId: string) => ({ purpose: 'totp', user: userId });

export const invalidCode = (kind: CodeKind) =>
  mfaError('invalid_code', {
    message:
      kind === 'totp'
        ? 'That code is not right, or was already used. Wait for the next one.'
        : 'That recovery code is not right or was already used.',
    fields: [
      { field: 'code', message: kind === 'totp' ? 'is not the current code' : 'is not an unused recovery code' },
    ],
  });

export function send(deps: MfaDeps, message: MailMessage): void {
  deps.mailer.send(message).catch((err) => deps.onMailError?.(err));
}

/**
 * A8: a code check is limited per IP and takes its per-account attempt before the caller's
 * transaction begins, so checks sent at once cannot queue up behind it unlimited.
 */
export async function takeAttempt(deps: MfaDeps, userId: string, context: RequestContext): Promise<void> {
  enforce(await deps.limits.checksByIp.consume(context.ip ?? 'unknown'));
  enforce(await deps.limits.failures.reserve(userId));
}

async function checkTotp(deps: MfaDeps, tx: Tx, userId: string, code: string): Promise<boolean> {
  const row = await lockConfirmedTotp(tx, userId);
  const step =
    row &&
    acceptTotp(
      open(deps.keyring, row.secret_sealed, secretContext(userId)).toString('utf8'),
      code,
      deps.clock.now(),
      row.last_used_step === null ? null : Number(row.last_used_step),
    );
  if (step === undefined) return false;
  await setTotpLastUsedStep(tx, userId, step);
  return true;
}

/** Spends a recovery code; how many are left, or undefined when it was not an unused code. */
async function spendCode(
  deps: MfaDeps,
  tx: Tx,
  userId: string,
  code: string,
  context: RequestContext,
): Promise<number | undefined> {
  if (!looksLikeRecoveryCode(code)) return undefined;
  if (!(await spendRecoveryCode(tx, userId, hashRecoveryCode(code), deps.clock.now()))) return undefined;
  const left = (await factorsOf(tx, userId)).recoveryCodesLeft;
  await appendAudit(
    tx,
    {
      stream: userStream(userId),
      action: 'mfa.recovery_code_used',
      actor: actor(userId),
      context,
      payload: { left },
    },
    deps.clock,
  );
  return left;
}

/**
 * Checks a TOTP or recovery code in the caller's transaction, after takeAttempt. A used recovery
 * code is spent (the caller mails about it after the commit): the answer is how many are left.
 */
export async function checkCode(
  deps: MfaDeps,
  tx: Tx,
  userId: string,
  kind: CodeKind,
  code: string,
  context: RequestContext,
): Promise<{ ok: boolean; recoveryCodesLeft?: number }> {
  let ok: boolean;
  let recoveryCodesLeft: number | undefined;
  if (kind === 'totp') {
    ok = await checkTotp(deps, tx, userId, code);
  } else {
    recoveryCodesLeft = await spendCode(deps, tx, userId, code, context);
    ok = recoveryCodesLeft !== undefined;
  }
  if (ok) await deps.limits.failures.succeed(userId);
  return { ok, recoveryCodesLeft };
}

/** Records a failed check in its own transaction (the caller's rolls back with the error). */
export async function refuse(
  deps: MfaDeps,
  userId: string,
  kind: CodeKind | 'passkey',
  context: RequestContext,
  error: AppError,
): Promise<never> {
  await deps.db.withSystem((tx) =>
    appendAudit(
      tx,
      {
        stream: userStream(userId),
        action: 'mfa.check_failed',
        actor: actor(userId),
        context,
        payload: { factor: kind },
      },
      deps.clock,
    ),
  );
  throw error;
}

export async function state(deps: MfaDeps, userId: string): Promise<FactorState> {
  return deps.db.withSystem((tx) => factorsOf(tx, userId));
}

/** Whether a sensitive action may go ahead on this session now, or needs step-up first. */
export async function isRecent(deps: MfaDeps, session: Session): Promise<boolean> {
  if (deps.clock.now().getTime() - session.authenticatedAt.getTime() > STEP_UP_WINDOW_MS) return false;
  return session.authLevel >= 2 || !hasSecondFactor(await state(deps, session.userId));
}

export async function requireRecent(deps: MfaDeps, session: Session): Promise<void> {
  if (!(await isRecent(deps, session))) {
    throw mfaError('step_up_required');
  }
}

/** Step-up offers the strongest factor the person has: passkey or app code, else the password. */
export async function stepUpFactors(deps: MfaDeps, userId: string): Promise<StepUpFactor[]> {
  const f = await state(deps, userId);
  if (!hasSecondFactor(f)) return ['password'];
  return [...(f.passkeys > 0 ? (['passkey'] as const) : []), ...(f.totp ? (['totp'] as const) : [])];
}

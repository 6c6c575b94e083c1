import { appendAudit, userStream } from '../platform/audit/events.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Tx } from '../platform/db/database.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Authenticated } from '../sessions/index.js';
import { actor, refuse, requireRecent, secretContext, send, takeAttempt, invalidCode } from './checks.js';
import { mfaError } from './errors.js';
import { hasSecondFactor } from './factors.js';
import { factorChangedMail } from './mails.js';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import {
  confirmTotpCredential,
  deleteConfirmedTotp,
  deleteRecoveryCodes,
  factorsOf,
  lockTotp,
  replaceRecoveryCodeHashes,
  totpConfirmedAt,
  totpSecretOf,
  upsertPendingTotp,
} from './repository.js';
import type { MfaDeps } from './service.js';
import { acceptTotp, newTotpSecret, totpUri } from './totp.js';

/* The MfaService operations that add or remove the authenticator app and make recovery codes. */

const uriOf = (deps: MfaDeps, secret: string, email: string) => totpUri(secret, email, new URL(deps.baseUrl).host);

async function replaceRecoveryCodes(deps: MfaDeps, tx: Tx, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => newRecoveryCode(deps.random));
  await replaceRecoveryCodeHashes(tx, userId, codes.map(hashRecoveryCode), deps.clock.now());
  return codes;
}

/**
 * A4: a new secret to scan, kept sealed until a first code confirms it (replaces an unfinished one).
 * An enrollment never confirmed is simply left (no event): the next one replaces it, and says so.
 */
export async function beginTotp(
  deps: MfaDeps,
  auth: Authenticated,
  context: RequestContext,
): Promise<{ secret: string; uri: string }> {
  await requireRecent(deps, auth.session);
  const secret = newTotpSecret(deps.random);
  await deps.db.withSystem(async (tx) => {
    const existing = await totpConfirmedAt(tx, auth.user.id);
    if (existing?.confirmed_at) throw mfaError('totp_already_enabled');
    await upsertPendingTotp(
      tx,
      auth.user.id,
      seal(deps.keyring, secret, secretContext(auth.user.id)),
      deps.clock.now(),
    );
    await appendAudit(
      tx,
      {
        stream: userStream(auth.user.id),
        action: 'mfa.totp_enrollment_started',
        actor: actor(auth.user.id),
        context,
        payload: { replacedUnfinished: existing !== undefined },
      },
      deps.clock,
    );
  });
  return { secret, uri: uriOf(deps, secret, auth.user.email) };
}

/** The secret of an unfinished enrollment, to show again after a wrong first code. */
export async function pendingTotp(
  deps: MfaDeps,
  auth: Authenticated,
): Promise<{ secret: string; uri: string } | undefined> {
  const row = await deps.db.withSystem((tx) => totpSecretOf(tx, auth.user.id));
  if (!row || row.confirmed_at) return undefined;
  const secret = open(deps.keyring, row.secret_sealed, secretContext(auth.user.id)).toString('utf8');
  return { secret, uri: uriOf(deps, secret, auth.user.email) };
}

/**
 * The first code proves the app holds the secret: TOTP is on, a fresh set of recovery codes is
 * returned (shown once), and the session, now two-factor, gets a new identifier (S2).
 */
export async function confirmTotp(
  deps: MfaDeps,
  auth: Authenticated,
  code: string,
  context: RequestContext,
): Promise<{ codes: string[]; token: string }> {
  const { clock } = deps;
  await requireRecent(deps, auth.session);
  const userId = auth.user.id;
  await takeAttempt(deps, userId, context);
  const result = await deps.sessions.write(async (tx, s) => {
    const row = await lockTotp(tx, userId);
    if (!row || row.confirmed_at) throw mfaError('no_enrollment');
    const step = acceptTotp(
      open(deps.keyring, row.secret_sealed, secretContext(userId)).toString('utf8'),
      code,
      clock.now(),
      null,
    );
    if (step === undefined) return undefined;
    await confirmTotpCredential(tx, userId, clock.now(), step);
    const codes = await replaceRecoveryCodes(deps, tx, userId);
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
      token: await s.rotate(auth.session.id, { reason: 'second_factor_added', authLevel: 2, factor: 'totp', context }),
    };
  });
  if (!result) {
    return refuse(deps, userId, 'totp', context, invalidCode('totp'));
  }
  await deps.limits.failures.succeed(userId);
  send(deps, factorChangedMail(auth.user.email, 'authenticator app', 'added', deps.baseUrl));
  return result;
}

/** Turning the app off (step-up). With no second factor left, the recovery codes go too. */
export async function disableTotp(deps: MfaDeps, auth: Authenticated, context: RequestContext): Promise<void> {
  await requireRecent(deps, auth.session);
  const userId = auth.user.id;
  await deps.db.withSystem(async (tx) => {
    if (!(await deleteConfirmedTotp(tx, userId))) throw mfaError('totp_not_enabled');
    const recoveryCodesRemoved = hasSecondFactor(await factorsOf(tx, userId))
      ? false
      : await deleteRecoveryCodes(tx, userId);
    await appendAudit(
      tx,
      {
        stream: userStream(userId),
        action: 'mfa.totp_disabled',
        actor: actor(userId),
        context,
        payload: { recoveryCodesRemoved },
      },
      deps.clock,
    );
  });
  send(deps, factorChangedMail(auth.user.email, 'authenticator app', 'removed', deps.baseUrl));
}

/** A new set of ten codes (step-up); every older code stops working. `replaced`: unused codes that did. */
export async function regenerateRecoveryCodes(
  deps: MfaDeps,
  auth: Authenticated,
  context: RequestContext,
): Promise<{ codes: string[]; replaced: number }> {
  await requireRecent(deps, auth.session);
  const userId = auth.user.id;
  return deps.db.withSystem(async (tx) => {
    const factors = await factorsOf(tx, userId);
    if (!hasSecondFactor(factors)) throw mfaError('no_second_factor');
    const codes = await replaceRecoveryCodes(deps, tx, userId);
    await appendAudit(
      tx,
      {
        stream: userStream(userId),
        action: 'mfa.recovery_codes_generated',
        actor: actor(userId),
        context,
        payload: { replacedUnused: factors.recoveryCodesLeft },
      },
      deps.clock,
    );
    return { codes, replaced: factors.recoveryCodesLeft };
  });
}

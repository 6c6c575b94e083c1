import { appendAudit, userStream } from '../platform/audit/events.js';
import { enforce } from '../platform/limits/enforce.js';
import type { Clock } from '../platform/clock.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { RandomSource } from '../platform/crypto/random.js';
import type { PasswordHasher } from '../platform/crypto/passwords.js';
import type { Tenancy } from '../platform/db/database.js';
import type { AppError } from '../platform/errors.js';
import type { Mailer, MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Authenticated, Session, SessionService } from '../sessions/index.js';
import {
  actor,
  checkCode,
  invalidCode,
  isRecent,
  refuse,
  requireRecent,
  send,
  state,
  stepUpFactors,
  takeAttempt,
} from './checks.js';
import { mfaError } from './errors.js';
import type { FactorState } from './factors.js';
import type { MfaLimits } from './limits.js';
import { recoveryCodeUsedMail } from './mails.js';
import { passwordHashOf } from './repository.js';
import { type SecurityScore, securityScore } from './score.js';
import { beginTotp, confirmTotp, disableTotp, pendingTotp, regenerateRecoveryCodes } from './totp-enrollment.js';

export { STEP_UP_WINDOW_MS } from './checks.js';

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

/** A4, S2: authenticator apps, recovery codes, the second factor of a sign-in and step-up. */
export interface MfaService {
  /** A person's second factors, read now. */
  state(userId: string): Promise<FactorState>;
  /** Whether a sensitive action may go ahead on this session now, or needs step-up first. */
  isRecent(session: Session): Promise<boolean>;
  /** The factors step-up offers: passkey or app code, else the password. */
  stepUpFactors(userId: string): Promise<StepUpFactor[]>;
  /** Throws step_up_required unless the session is recent enough for a sensitive action. */
  requireRecent(session: Session): Promise<void>;
  /** The person's security score, from their factors now. */
  score(userId: string): Promise<SecurityScore>;
  /** The security score of factors already read. */
  scoreOf(factors: FactorState): SecurityScore;
  /** A4: starts an authenticator-app enrollment (step-up): a new secret to scan. */
  beginTotp(auth: Authenticated, context: RequestContext): Promise<{ secret: string; uri: string }>;
  /** The secret of an unfinished enrollment, to show again after a wrong first code. */
  pendingTotp(auth: Authenticated): Promise<{ secret: string; uri: string } | undefined>;
  /** Confirms the enrollment with a first code: TOTP on, fresh recovery codes, rotated session. */
  confirmTotp(auth: Authenticated, code: string, context: RequestContext): Promise<{ codes: string[]; token: string }>;
  /** Turns the app off (step-up); with no second factor left, the recovery codes go too. */
  disableTotp(auth: Authenticated, context: RequestContext): Promise<void>;
  /** A new set of recovery codes (step-up); `replaced`: unused codes that stopped working. */
  regenerateRecoveryCodes(auth: Authenticated, context: RequestContext): Promise<{ codes: string[]; replaced: number }>;
  /** Finishes a pending sign-in with an app code or a recovery code; the session id rotates. */
  completeSignIn(
    pending: Authenticated,
    kind: CodeKind,
    code: string,
    context: RequestContext,
  ): Promise<{ token: string; session: Session }>;
  /** S2 step-up with a password or an app code; the new session token. */
  stepUp(auth: Authenticated, factor: 'password' | 'totp', secret: string, context: RequestContext): Promise<string>;
  /** Shared with the passkey ceremonies: failed checks are recorded alike, mail goes out alike. */
  internals: {
    refuse(userId: string, kind: CodeKind | 'passkey', context: RequestContext, error: AppError): Promise<never>;
    send(message: MailMessage): void;
  };
}

/** Finishes a pending sign-in with an app code or a recovery code; the session id rotates. */
async function completeSignIn(
  deps: MfaDeps,
  pending: Authenticated,
  kind: CodeKind,
  code: string,
  context: RequestContext,
): Promise<{ token: string; session: Session }> {
  const userId = pending.user.id;
  await takeAttempt(deps, userId, context);
  const result = await deps.sessions.write(async (tx, s) => {
    const check = await checkCode(deps, tx, userId, kind, code, context);
    return check.ok
      ? {
          ...(await s.completeSignIn(pending.session.id, kind, context)),
          recoveryCodesLeft: check.recoveryCodesLeft,
        }
      : undefined;
  });
  if (!result) return refuse(deps, userId, kind, context, invalidCode(kind));
  if (result.recoveryCodesLeft !== undefined)
    send(deps, recoveryCodeUsedMail(pending.user.email, result.recoveryCodesLeft, deps.baseUrl));
  return result;
}

/** Checks the password of a step-up (its attempt already taken); a failure is recorded and thrown. */
async function checkPassword(deps: MfaDeps, userId: string, secret: string, context: RequestContext): Promise<void> {
  const row = await deps.db.withSystem((tx) => passwordHashOf(tx, userId));
  if (!row.password_hash || !(await deps.hasher.verify(row.password_hash, secret))) {
    await deps.db.withSystem((tx) =>
      appendAudit(
        tx,
        {
          stream: userStream(userId),
          action: 'user.step_up_failed',
          actor: actor(userId),
          context,
          payload: { factor: 'password' },
        },
        deps.clock,
      ),
    );
    throw mfaError('invalid_credentials', { fields: [{ field: 'password', message: 'is not your password' }] });
  }
}

/** S2 step-up with a password or an app code: the session is freshly authenticated and its id rotates. */
async function stepUp(
  deps: MfaDeps,
  auth: Authenticated,
  factor: 'password' | 'totp',
  secret: string,
  context: RequestContext,
): Promise<string> {
  const userId = auth.user.id;
  // A password is counted per session: whoever holds one session cannot block the owner's codes.
  const key = `session:${auth.session.id}`;
  if (factor === 'password') enforce(await deps.limits.failures.reserve(key));
  else await takeAttempt(deps, userId, context);
  const offered = await stepUpFactors(deps, userId);
  if (!offered.includes(factor)) throw mfaError('factor_not_allowed');
  if (factor === 'password') {
    await checkPassword(deps, userId, secret, context);
    await deps.limits.failures.succeed(key);
  }
  const token = await deps.sessions.write(async (tx, s) => {
    if (factor === 'totp' && !(await checkCode(deps, tx, userId, 'totp', secret, context)).ok) return undefined;
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
      deps.clock,
    );
    return s.rotate(auth.session.id, {
      reason: 'step_up',
      ...(factor === 'password' ? { authLevel: 1, factor: 'password' } : { authLevel: 2, factor: 'totp' }),
      context,
    });
  });
  return token ?? refuse(deps, userId, 'totp', context, invalidCode('totp'));
}

export function createMfaService(deps: MfaDeps): MfaService {
  return {
    state: (userId) => state(deps, userId),
    isRecent: (session) => isRecent(deps, session),
    stepUpFactors: (userId) => stepUpFactors(deps, userId),
    requireRecent: (session) => requireRecent(deps, session),
    score: async (userId) => securityScore(await state(deps, userId), deps.clock.now()),
    scoreOf: (factors) => securityScore(factors, deps.clock.now()),
    beginTotp: (auth, context) => beginTotp(deps, auth, context),
    pendingTotp: (auth) => pendingTotp(deps, auth),
    confirmTotp: (auth, code, context) => confirmTotp(deps, auth, code, context),
    disableTotp: (auth, context) => disableTotp(deps, auth, context),
    regenerateRecoveryCodes: (auth, context) => regenerateRecoveryCodes(deps, auth, context),
    completeSignIn: (pending, kind, code, context) => completeSignIn(deps, pending, kind, code, context),
    stepUp: (auth, factor, secret, context) => stepUp(deps, auth, factor, secret, context),
    internals: {
      refuse: (userId, kind, context, error) => refuse(deps, userId, kind, context, error),
      send: (message) => send(deps, message),
    },
  };
}

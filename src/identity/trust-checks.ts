import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import { hashToken, randomToken } from '../platform/crypto/tokens.js';
import type { Tx } from '../platform/db/database.js';
import type { EmailTokenPurpose } from '../platform/db/tables.js';
import { AppError } from '../platform/errors.js';
import type { BackoffLimiter, Limiter, LimitRule } from '../platform/limits/limiter.js';
import type { Authenticated, SessionOps } from '../sessions/index.js';
import type { IdentityDeps } from './deps.js';
import { consumeToken, issueToken, markVerified } from './links.js';
import { applyReset } from './passwords.js';
import * as repo from './repository.js';

/*
 * X8: the live checks of A1-A3 and A8. The link and session checks run identity's own code paths on
 * a made-up account inside one transaction that is always rolled back, so nothing they create
 * outlives them (and no mail is sent); the limit check spends made-up keys and then clears them.
 */

const MINUTE_MS = 60_000;
const MAGIC_LINK_MAX_MS = 15 * MINUTE_MS;
const RESET_LINK_MAX_MS = 60 * MINUTE_MS;
/** More attempts than this per window is no brute-force bound; a window under a minute barely slows a script. */
const MAX_POINTS = 100;
const MIN_WINDOW_SEC = 60;
/** A block longer than this would lock the owner out in effect. */
const MAX_BACKOFF_SEC = 60 * 60;

const PROBE_CONTEXT = { ip: null, userAgent: 'rampart trust probe', requestId: null };
/** Stored only inside the rolled-back transaction; no password verifies against it. */
const PROBE_PASSWORD_HASH = '!trust-probe';

/** What the checks need: identity's deps, and the gate every account route sits behind. */
export interface IdentityCheckDeps {
  deps: IdentityDeps;
  gate: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

class Rollback<T> extends Error {
  constructor(readonly value: T) {
    super('trust probe rollback');
  }
}

/** Runs `fn` in a session write on a made-up account, then rolls everything back and returns its answer. */
async function onProbeAccount<T>(
  deps: IdentityDeps,
  fn: (tx: Tx, s: SessionOps, user: { id: string; email: string }) => Promise<T>,
): Promise<T> {
  try {
    await deps.sessions.write(async (tx, s) => {
      const email = `trust-probe-${randomBytes(8).toString('hex')}@probe.invalid`;
      const inserted = await repo.insertUserUnlessTaken(tx, { email, created_at: deps.clock.now() });
      if (!inserted) throw new Error('the made-up probe address is taken');
      throw new Rollback(await fn(tx, s, { id: inserted.id, email }));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
  throw new Error('the probe transaction committed');
}

const tokenOf = (link: string) => new URL(link).searchParams.get('token') ?? '';

/** Issues a link as a mail would carry it: its token and how long it lives. */
async function issue(deps: IdentityDeps, tx: Tx, userId: string, purpose: EmailTokenPurpose) {
  const token = tokenOf(await issueToken(deps, tx, userId, purpose));
  const row = await repo.findLink(tx, hashToken(token), purpose);
  if (!row) throw new Error(`the issued ${purpose} link was not stored`);
  return { token, lifetimeMs: row.expires_at.getTime() - row.created_at.getTime() };
}

/** Whether using the token is refused as invalid_link. */
async function refused(deps: IdentityDeps, tx: Tx, token: string, purpose: EmailTokenPurpose): Promise<boolean> {
  try {
    await consumeToken(deps, tx, token, purpose);
    return false;
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_link') return true;
    throw err;
  }
}

/** The gate's answer for a JSON request of this session: 'allowed' or the refusal's code. */
async function gateAnswer(gate: IdentityCheckDeps['gate'], auth: Authenticated): Promise<string> {
  const request = { url: '/api/v1/trust-probe', method: 'GET', headers: { accept: 'application/json' }, auth };
  try {
    await gate(request as unknown as FastifyRequest, {} as FastifyReply);
    return 'allowed';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

/** "15 min", "2 h": whole hours from two hours up. */
function minutes(ms: number): string {
  const hours = ms / (60 * MINUTE_MS);
  return hours >= 2 && Number.isInteger(hours) ? `${hours} h` : `${Math.round((ms / MINUTE_MS) * 10) / 10} min`;
}
const failing = (detail: string): TrustVerdict => ({ status: 'failing', detail });

function emailVerificationCheck({ deps, gate }: IdentityCheckDeps): TrustCheck {
  return {
    control: 'A1',
    id: 'email-verification-gate',
    title: 'An account reaches nothing but "check your e-mail" until the mailed link has proved its address',
    run: () =>
      onProbeAccount(deps, async (tx, s, user) => {
        const fresh = await repo.findUserForSignInById(tx, user.id);
        if (fresh?.email_verified_at) return failing('a new account starts with its address verified');
        const { session } = await s.create(user.id, { method: 'password', authLevel: 1, context: PROBE_CONTEXT });
        const unverified = await gateAnswer(gate, { session, user: { ...user, emailVerified: false } });
        if (unverified !== 'email_unverified')
          return failing(`the account gate answered "${unverified}" to a session of an unverified account`);
        if (!(await refused(deps, tx, randomToken(), 'verify_email')))
          return failing('a made-up verification token was accepted');
        const row = await consumeToken(
          deps,
          tx,
          (await issue(deps, tx, user.id, 'verify_email')).token,
          'verify_email',
        );
        await markVerified(deps, tx, row.user_id, row.email_verified_at, PROBE_CONTEXT);
        const proved = await repo.findUserForSignInById(tx, user.id);
        if (!proved?.email_verified_at) return failing('using the verification link left the address unverified');
        const verified = await gateAnswer(gate, { session, user: { ...user, emailVerified: true } });
        if (verified !== 'allowed') return failing(`the account gate answered "${verified}" to a verified account`);
        return {
          status: 'passing',
          detail:
            'a new account starts unverified; the account gate refused its session (email_unverified) and let it ' +
            'through once its verification link was used; a made-up verification token was refused',
        };
      }),
  };
}

function magicLinkCheck({ deps }: IdentityCheckDeps): TrustCheck {
  return {
    control: 'A2',
    id: 'magic-link-single-use',
    title: 'A magic link lives 15 minutes at most and signs in once; a newer one replaces it',
    run: () =>
      onProbeAccount(deps, async (tx, _s, user) => {
        const older = await issue(deps, tx, user.id, 'magic_link');
        const link = await issue(deps, tx, user.id, 'magic_link');
        if (link.lifetimeMs > MAGIC_LINK_MAX_MS)
          return failing(`magic links live ${minutes(link.lifetimeMs)}, more than ${minutes(MAGIC_LINK_MAX_MS)}`);
        if (!(await refused(deps, tx, older.token, 'magic_link')))
          return failing('a magic link still worked after a newer one was issued');
        await consumeToken(deps, tx, link.token, 'magic_link');
        if (!(await refused(deps, tx, link.token, 'magic_link'))) return failing('a used magic link worked again');
        if (!(await refused(deps, tx, randomToken(), 'magic_link')))
          return failing('a made-up magic-link token was accepted');
        return {
          status: 'passing',
          detail:
            `magic links live ${minutes(link.lifetimeMs)}; a used link, a replaced link and a made-up token ` +
            'were refused',
        };
      }),
  };
}

function passwordResetCheck({ deps }: IdentityCheckDeps): TrustCheck {
  return {
    control: 'A3',
    id: 'password-reset-single-use',
    title: 'A reset link lives an hour at most and works once; a reset signs out every other session',
    run: () =>
      onProbeAccount(deps, async (tx, s, user) => {
        for (const method of ['password', 'magic_link'] as const)
          await s.create(user.id, { method, authLevel: 1, context: PROBE_CONTEXT });
        const signInLink = await issue(deps, tx, user.id, 'magic_link');
        const link = await issue(deps, tx, user.id, 'password_reset');
        if (link.lifetimeMs > RESET_LINK_MAX_MS)
          return failing(`reset links live ${minutes(link.lifetimeMs)}, more than ${minutes(RESET_LINK_MAX_MS)}`);
        const row = await consumeToken(deps, tx, link.token, 'password_reset');
        const { signedIn, revoked } = await applyReset(deps, tx, s, row, PROBE_PASSWORD_HASH, PROBE_CONTEXT);
        const left = await s.revoke({ userId: user.id, exceptSessionId: signedIn.session.id }, 'trust_probe');
        if (revoked !== 2 || left !== 0)
          return failing(`a reset ended ${revoked} of the account's 2 sessions; ${left} other(s) stayed live`);
        if (!(await refused(deps, tx, link.token, 'password_reset'))) return failing('a used reset link worked again');
        if (!(await refused(deps, tx, signInLink.token, 'magic_link')))
          return failing('a magic link mailed before the reset still worked after it');
        if (!(await refused(deps, tx, randomToken(), 'password_reset')))
          return failing('a made-up reset token was accepted');
        return {
          status: 'passing',
          detail:
            `reset links live ${minutes(link.lifetimeMs)}; a reset ended both other sessions of the account and ` +
            'its earlier sign-in link; the used link and a made-up token were refused',
        };
      }),
  };
}

/** A problem with a per-IP (or per-IP-and-account) limit, after spending a probe key up to it. */
async function limitProblem(name: string, limiter: Limiter, rule: LimitRule, key: string) {
  const window = minutes(rule.durationSec * 1000);
  if (rule.points > MAX_POINTS) return `${name} allows ${rule.points} per ${window} (more than ${MAX_POINTS})`;
  if (rule.durationSec < MIN_WINDOW_SEC) return `${name} counts over ${rule.durationSec} s only`;
  const spent = await limiter.consume(key, rule.points);
  if (!spent.allowed) return `${name} refused its first ${rule.points} attempts`;
  if ((await limiter.consume(key)).allowed) return `${name} allowed attempt ${rule.points + 1} of ${window}`;
  return undefined;
}

/** A8 for passwords: a burst on an account is blocked, while the owner's own browser is not. */
async function backoffProblem(account: BackoffLimiter, device: BackoffLimiter, free: number, key: string) {
  for (let i = 0; i <= free; i++) if (!(await account.reserve(key)).allowed) return `password attempt ${i + 1} refused`;
  const blocked = await account.reserve(key);
  if (blocked.allowed) return `password attempt ${free + 2} on one account was let through`;
  if (!(await device.reserve(key)).allowed) return "guesses on an account also blocked its owner's browser";
  return undefined;
}

function rateLimitCheck({ deps }: IdentityCheckDeps): TrustCheck {
  return {
    control: 'A8',
    id: 'identity-rate-limits',
    title:
      'Sign-up, sign-in, reset and magic-link requests are refused past their limits, per IP and per account, ' +
      'without locking the owner out',
    async run() {
      const { limits } = deps;
      const { rules } = limits;
      const probe = `trust_probe:${randomBytes(12).toString('hex')}`;
      const perKey: Array<[string, Limiter, LimitRule, string]> = [
        ['sign-up per IP', limits.signUpByIp, rules.signUpByIp, probe],
        ['sign-in per IP', limits.signInByIp, rules.signInByIp, probe],
        ['reset and magic-link requests per IP', limits.mailByIp, rules.mailByIp, probe],
        ['link use per IP', limits.tokenUseByIp, rules.tokenUseByIp, probe],
        [
          'reset and magic-link requests per account and IP',
          limits.mailByAccountAndIp,
          rules.mailByAccountAndIp,
          `${probe}|a`,
        ],
      ];
      const backoff = rules.passwordBackoff;
      try {
        for (const [name, limiter, rule, key] of perKey) {
          const problem = await limitProblem(name, limiter, rule, key);
          if (problem) return failing(problem);
        }
        if (!(await limits.mailByAccountAndIp.consume(`${probe}|b`)).allowed)
          return failing('links for an account were refused from a second address once one address hit its limit');
        if (backoff.freeFailures + 1 > MAX_POINTS)
          return failing(`an account takes ${backoff.freeFailures} free password guesses`);
        if (backoff.maxDelaySec > MAX_BACKOFF_SEC)
          return failing(`password guesses can block an account for ${minutes(backoff.maxDelaySec * 1000)}`);
        const problem = await backoffProblem(
          limits.passwordByAccount,
          limits.passwordByDevice,
          backoff.freeFailures,
          probe,
        );
        if (problem) return failing(problem);
      } finally {
        await Promise.all([
          ...perKey.map(([, limiter, , key]) => limiter.reset(key)),
          limits.mailByAccountAndIp.reset(`${probe}|b`),
          limits.passwordByAccount.succeed(probe),
          limits.passwordByDevice.succeed(probe),
        ]);
      }
      const ip = perKey
        .slice(0, 4)
        .map(([name, , rule]) => `${name} ${rule.points}/${minutes(rule.durationSec * 1000)}`);
      return {
        status: 'passing',
        detail:
          `refused past the limit: ${ip.join(', ')}; links per account and IP ${rules.mailByAccountAndIp.points}, ` +
          `still sent from another address; password guesses on an account blocked after ${backoff.freeFailures} ` +
          `free ones (at most ${minutes(backoff.maxDelaySec * 1000)}), while the owner's browser was not`,
      };
    },
  };
}

export function identityTrustChecks(deps: IdentityCheckDeps): TrustCheck[] {
  return [emailVerificationCheck(deps), magicLinkCheck(deps), passwordResetCheck(deps), rateLimitCheck(deps)];
}

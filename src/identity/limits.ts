import type { BackoffLimiter, Limiter, Limits } from '../platform/limits/limiter.js';
import { rateLimited } from '../platform/errors.js';
import type { LimitResult } from '../platform/limits/limiter.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;

/**
 * A8. Per-IP limits stop one source from spraying many accounts; per-account limits stop many
 * sources from hammering one account. Password failures back off per account, but the e-mail
 * flows (magic link, reset) have their own budgets, so the owner can still get in by mail while
 * an attacker is throttled on the password.
 */
export function identityLimits(limits: Limits) {
  return {
    signUpByIp: limits.limiter('signup_ip', { points: 10, durationSec: HOUR }),
    signInByIp: limits.limiter('signin_ip', { points: 50, durationSec: 15 * MINUTE }),
    passwordFailures: limits.backoff('password_account', { freeFailures: 5, baseDelaySec: 1, maxDelaySec: 15 * MINUTE, forgetAfterSec: 24 * HOUR }),
    mailByIp: limits.limiter('mail_ip', { points: 10, durationSec: HOUR }),
    mailByAccountAndIp: limits.limiter('mail_account_ip', { points: 5, durationSec: 15 * MINUTE }),
    mailByAccount: limits.limiter('mail_account', { points: 20, durationSec: HOUR }),
    tokenUseByIp: limits.limiter('token_ip', { points: 30, durationSec: 15 * MINUTE }),
  };
}

export type IdentityLimits = ReturnType<typeof identityLimits>;

export function enforce(result: LimitResult): void {
  if (!result.allowed) throw rateLimited(result.retryAfterSec);
}

export async function consumeAll(checks: Array<[Limiter, string]>): Promise<void> {
  for (const [limiter, key] of checks) enforce(await limiter.consume(key));
}

export type { BackoffLimiter };

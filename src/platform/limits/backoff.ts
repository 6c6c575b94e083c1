import { isPositiveInt, retryAfterSec, storeKey, type LimitResult, type Store } from './limiter.js';

export interface BackoffRule {
  /** Consecutive failures that cost nothing. */
  freeFailures: number;
  /** Block after the first failure past the free ones; doubles with each further failure. */
  baseDelaySec: number;
  maxDelaySec: number;
  /** The failure count is forgotten this long after the last failure. */
  forgetAfterSec: number;
}

export interface BackoffLimiter {
  /** Refused while the key is blocked; `remaining` is how many failures are still free. */
  check(key: string): Promise<LimitResult>;
  /** Records a failure and returns the state after it. */
  fail(key: string): Promise<LimitResult>;
  /** A success forgets the failures and lifts the block. */
  succeed(key: string): Promise<void>;
}

/**
 * Consecutive-failure backoff for one key (an account): after `freeFailures` failures, each further
 * failure blocks the key for baseDelaySec · 2^(n-1), capped at maxDelaySec. The block only delays;
 * it never grows without bound, so an attacker cannot lock the real owner out for long (A8).
 */
export function createBackoff(store: Store, name: string, rule: BackoffRule): BackoffLimiter {
  const ok = Number.isInteger(rule.freeFailures) && rule.freeFailures >= 0 && [rule.baseDelaySec, rule.maxDelaySec, rule.forgetAfterSec].every(isPositiveInt);
  if (!ok) throw new RangeError('a backoff rule needs whole seconds and a whole, non-negative freeFailures');
  // The failure count lives as consumed points (points are never consumed against, only counted).
  const failures = store.make(`${name}:fail`, Number.MAX_SAFE_INTEGER, rule.forgetAfterSec);
  const blocks = store.make(`${name}:block`, 1, 1);

  async function failureCount(k: string): Promise<number> {
    return (await failures.get(k))?.consumedPoints ?? 0;
  }

  async function blockedMs(k: string): Promise<number> {
    const res = await blocks.get(k);
    return res && res.consumedPoints > 1 ? res.msBeforeNext : 0;
  }

  return {
    async check(key) {
      await store.ready;
      const k = storeKey(key);
      const [count, ms] = await Promise.all([failureCount(k), blockedMs(k)]);
      if (ms > 0) return { allowed: false, retryAfterSec: retryAfterSec(ms) };
      return { allowed: true, remaining: Math.max(0, rule.freeFailures - count) };
    },
    async fail(key) {
      await store.ready;
      const k = storeKey(key);
      const count = (await failures.penalty(k, 1)).consumedPoints;
      // penalty() keeps the expiry of an existing counter; restart it so the count is forgotten
      // forgetAfterSec after the *last* failure. Not atomic with the increment: failures racing on one
      // key may undercount by the number in flight, which the per-account consume limiter bounds.
      await failures.set(k, count, rule.forgetAfterSec);
      const over = count - rule.freeFailures;
      if (over <= 0) return { allowed: true, remaining: rule.freeFailures - count };
      const delaySec = Math.min(rule.baseDelaySec * 2 ** (over - 1), rule.maxDelaySec);
      // Never shorten a longer block that a concurrent failure has just set.
      const currentMs = await blockedMs(k);
      if (currentMs >= delaySec * 1000) return { allowed: false, retryAfterSec: retryAfterSec(currentMs) };
      await blocks.block(k, delaySec);
      return { allowed: false, retryAfterSec: delaySec };
    },
    async succeed(key) {
      await store.ready;
      const k = storeKey(key);
      await Promise.all([failures.delete(k), blocks.delete(k)]);
    },
  };
}

import type { Redis } from 'ioredis';
import { isPositiveInt, retryAfterSec, storeKey, type LimitResult } from './limiter.js';

export interface BackoffRule {
  /** Attempts that cost nothing. */
  freeFailures: number;
  /** The first attempt past the free ones blocks the key this long; each further one doubles it. */
  baseDelaySec: number;
  maxDelaySec: number;
  /** The attempt count is forgotten this long after the last attempt. */
  forgetAfterSec: number;
}

export interface BackoffLimiter {
  /**
   * Takes an attempt before the credential is checked, atomically: refused while the key is blocked;
   * the attempt past the free ones is let through but blocks the key at once, so N attempts sent at
   * the same moment get at most freeFailures + 1 evaluations. `remaining`: free attempts left.
   */
  reserve(key: string): Promise<LimitResult>;
  /** The credential was right: the attempts are forgotten and the block lifted (the refund). */
  succeed(key: string): Promise<void>;
}

/** What one store does atomically per key: reserve returns [allowed ? 1 : 0, attempts taken or ms blocked]. */
export interface BackoffStore {
  reserve(key: string, rule: BackoffRule): Promise<[number, number]>;
  forget(key: string): Promise<void>;
}

/**
 * Consecutive-attempt backoff for one key (an account, a device, a session): after `freeFailures`
 * attempts, each further attempt blocks the key for baseDelaySec · 2^(n-1), capped at maxDelaySec.
 * The block only delays; it never grows without bound (A8). The block is set when the attempt is
 * taken, not when it is found wrong, so a burst cannot slip through while the first ones are checked.
 */
export function createBackoff(store: BackoffStore, ready: Promise<void>, rule: BackoffRule): BackoffLimiter {
  const ok =
    Number.isInteger(rule.freeFailures) &&
    rule.freeFailures >= 0 &&
    [rule.baseDelaySec, rule.maxDelaySec, rule.forgetAfterSec].every(isPositiveInt);
  if (!ok) throw new RangeError('a backoff rule needs whole seconds and a whole, non-negative freeFailures');
  return {
    async reserve(key) {
      await ready;
      const [allowed, value] = await store.reserve(storeKey(key), rule);
      if (!allowed) return { allowed: false, retryAfterSec: retryAfterSec(value) };
      return { allowed: true, remaining: Math.max(0, rule.freeFailures - value) };
    },
    async succeed(key) {
      await ready;
      await store.forget(storeKey(key));
    },
  };
}

function delayMs(rule: BackoffRule, attempts: number): number {
  const over = attempts - rule.freeFailures;
  return over > 0 ? Math.min(rule.baseDelaySec * 2 ** (over - 1), rule.maxDelaySec) * 1000 : 0;
}

interface MemoryEntry {
  attempts: number;
  blockedUntil: number;
  forgetAt: number;
}

// Expired entries are swept once the map passes this size, so a spray of addresses cannot grow it for ever.
const SWEEP_AT = 10_000;

export function memoryBackoffStore(prefix: string, now: () => number = Date.now): BackoffStore {
  const entries = new Map<string, MemoryEntry>();
  const live = (k: string, t: number) => {
    const e = entries.get(`${prefix}:${k}`);
    return e && e.forgetAt > t ? e : undefined;
  };
  return {
    async reserve(k, rule) {
      const t = now();
      const e = live(k, t) ?? { attempts: 0, blockedUntil: 0, forgetAt: 0 };
      if (e.blockedUntil > t) return [0, e.blockedUntil - t];
      e.attempts++;
      const delay = delayMs(rule, e.attempts);
      if (delay > 0) e.blockedUntil = t + delay;
      e.forgetAt = t + rule.forgetAfterSec * 1000;
      if (entries.size >= SWEEP_AT) for (const [key, entry] of entries) if (entry.forgetAt <= t) entries.delete(key);
      entries.set(`${prefix}:${k}`, e);
      return [1, e.attempts];
    },
    async forget(k) {
      entries.delete(`${prefix}:${k}`);
    },
  };
}

// One script per attempt keeps check-and-take atomic across every instance. Redis's own clock
// decides, so instances with skewed clocks agree on when a block ends.
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if blocked > now then return {0, blocked - now} end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local over = n - tonumber(ARGV[1])
if over > 0 then
  local delay = math.min(tonumber(ARGV[2]) * 2 ^ (over - 1), tonumber(ARGV[3])) * 1000
  redis.call('HSET', KEYS[1], 'until', string.format('%d', now + delay))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 1000)
return {1, n}`;

/**
 * The Redis store, with a per-process memory store as insurance while Redis is unreachable (the
 * same trade-off as the other limiters: weaker per-process bounds rather than no bound or a DoS).
 */
export function redisBackoffStore(client: Redis, prefix: string): BackoffStore {
  const insurance = memoryBackoffStore(prefix);
  const key = (k: string) => `${prefix}:${k}`;
  return {
    async reserve(k, rule) {
      try {
        return (await client.eval(
          RESERVE,
          1,
          key(k),
          rule.freeFailures,
          rule.baseDelaySec,
          rule.maxDelaySec,
          rule.forgetAfterSec,
        )) as [number, number];
      } catch {
        return insurance.reserve(k, rule);
      }
    },
    async forget(k) {
      await Promise.allSettled([client.del(key(k)), insurance.forget(k)]);
    },
  };
}

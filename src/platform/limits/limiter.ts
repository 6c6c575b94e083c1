import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import {
  createBackoff,
  memoryBackoffStore,
  redisBackoffStore,
  type BackoffLimiter,
  type BackoffRule,
  type BackoffStore,
} from './backoff.js';

export type { BackoffLimiter, BackoffRule } from './backoff.js';

export interface LimitRule {
  points: number;
  durationSec: number;
  /** Once the points are spent, refuse for this long instead of until the window ends. */
  blockSec?: number;
}

export type LimitResult = { allowed: true; remaining: number } | { allowed: false; retryAfterSec: number };

export interface Limiter {
  consume(key: string, points?: number): Promise<LimitResult>;
  /** Whether consuming one point would be refused right now; consumes nothing. */
  peek(key: string): Promise<LimitResult>;
  reset(key: string): Promise<void>;
}

export interface Limits {
  readonly kind: 'memory' | 'redis';
  limiter(name: string, rule: LimitRule): Limiter;
  backoff(name: string, rule: BackoffRule): BackoffLimiter;
  close(): Promise<void>;
}

export interface LimitsOptions {
  redisUrl?: string;
  /** Redis key prefix; every key is `<prefix>:<limiter name>:<hashed key>`. */
  prefix?: string;
  /** Redis connection errors (the limits keep working per process meanwhile); log them. */
  onError?: (err: Error) => void;
}

/** The chosen store: builds rate-limiter-flexible limiters (`name` unique per purpose) once `ready`. */
export interface Store {
  make(name: string, points: number, durationSec: number, blockSec?: number): RateLimiterAbstract;
  backoff(name: string): BackoffStore;
  /**
   * Without an offline queue, commands sent before the first connection fail: every operation waits
   * for this, or a freshly started process would count its first requests in the insurance limiter only.
   */
  ready: Promise<void>;
}

const NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
// How long the first operations wait for the initial Redis connection before using the insurance limiter.
const FIRST_CONNECT_MS = 1000;

/**
 * Keys are often e-mail addresses or IPs: the store only ever sees a hash, so Redis holds no personal
 * data and key length is bounded.
 */
export function storeKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
}

export function retryAfterSec(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export function createLimits(opts: LimitsOptions): Limits {
  const prefix = opts.prefix ?? 'rampart';
  if (!opts.redisUrl) {
    const make: Store['make'] = (name, points, duration, blockDuration) =>
      new RateLimiterMemory({ keyPrefix: `${prefix}:${name}`, points, duration, blockDuration });
    const backoff: Store['backoff'] = (name) => memoryBackoffStore(`${prefix}:${name}`);
    return makeLimits('memory', { make, backoff, ready: Promise.resolve() }, async () => {});
  }

  // rate-limiter-flexible recommends enableOfflineQueue: false, so that a command fails at once while
  // Redis is unreachable instead of queueing; commandTimeout does the same for a Redis that hangs.
  const client = new Redis(opts.redisUrl, { enableOfflineQueue: false, commandTimeout: 1000 });
  client.on('error', opts.onError ?? (() => {}));
  const make: Store['make'] = (name, points, duration, blockDuration) => {
    const keyPrefix = `${prefix}:${name}`;
    // On a Redis failure each limiter falls back to a per-process memory limiter with the same rule.
    // Failing closed would let anyone lock every account out by taking Redis down (DoS); failing open
    // would remove brute-force protection for as long as Redis is down. Per-process limits are a
    // weaker but still real bound (N processes allow at most N times the rule) until Redis returns.
    const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points, duration, blockDuration });
    return new RateLimiterRedis({ storeClient: client, keyPrefix, points, duration, blockDuration, insuranceLimiter });
  };
  const backoff: Store['backoff'] = (name) => redisBackoffStore(client, `${prefix}:${name}`);
  return makeLimits('redis', { make, backoff, ready: firstReady(client, FIRST_CONNECT_MS) }, async () => {
    await client.quit().catch(() => client.disconnect());
  });
}

function makeLimits(kind: Limits['kind'], store: Store, close: () => Promise<void>): Limits {
  return {
    kind,
    limiter(name, rule) {
      checkName(name);
      checkRule(rule);
      return wrap(store, store.make(name, rule.points, rule.durationSec, rule.blockSec ?? 0), rule.points);
    },
    backoff(name, rule) {
      checkName(name);
      return createBackoff(store.backoff(name), store.ready, rule);
    },
    close,
  };
}

function wrap(store: Store, rl: RateLimiterAbstract, points: number): Limiter {
  return {
    async consume(key, n = 1) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError('points to consume must be a positive integer');
      await store.ready;
      try {
        const res = await rl.consume(storeKey(key), n);
        return { allowed: true, remaining: res.remainingPoints };
      } catch (err) {
        if (err instanceof RateLimiterRes) return { allowed: false, retryAfterSec: retryAfterSec(err.msBeforeNext) };
        throw err;
      }
    },
    async peek(key) {
      await store.ready;
      const res = await rl.get(storeKey(key));
      if (!res) return { allowed: true, remaining: points };
      if (res.consumedPoints >= points) return { allowed: false, retryAfterSec: retryAfterSec(res.msBeforeNext) };
      return { allowed: true, remaining: points - res.consumedPoints };
    },
    async reset(key) {
      await store.ready;
      await rl.delete(storeKey(key));
    },
  };
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new RangeError(`limiter name "${name}" must match ${NAME}`);
}

function checkRule(rule: LimitRule): void {
  // Redis expiries are whole seconds; a zero duration would make a counter that never expires.
  const ok =
    isPositiveInt(rule.points) &&
    isPositiveInt(rule.durationSec) &&
    (rule.blockSec === undefined || rule.blockSec === 0 || isPositiveInt(rule.blockSec));
  if (!ok) throw new RangeError('a limit rule needs whole, positive points, durationSec and blockSec');
}

export function isPositiveInt(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}

/** Resolves at the first 'ready', or after `ms` so that a Redis that is down at start-up does not stall requests. */
function firstReady(client: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

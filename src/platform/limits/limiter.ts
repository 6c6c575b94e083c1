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

/**
 * Several limits a request takes together (per address, then per credential): one call, and on
 * Redis one script, instead of one round trip each. The answers are those of consuming them one
 * after the other: each limit whose key is given takes one point, in order, until one refuses; the
 * limits after a refusal are not charged.
 */
export interface LimiterChain {
  /** One key per limit of the chain, in its order; an undefined key skips that limit. */
  consume(keys: ReadonlyArray<string | undefined>): Promise<LimitResult>;
}

export interface Limits {
  readonly kind: 'memory' | 'redis';
  limiter(name: string, rule: LimitRule): Limiter;
  /** On Redis, the counters of limiter(name, rule) of each name (in memory each limiter keeps its own). */
  chain(links: ReadonlyArray<{ name: string; rule: LimitRule }>): LimiterChain;
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
  /** Consumes one point of each given key in order, stopping at the first refusal (see LimiterChain). */
  chain(links: ReadonlyArray<ChainLink>): (keys: ReadonlyArray<string | undefined>) => Promise<LimitResult>;
  /**
   * Without an offline queue, commands sent before the first connection fail: every operation waits
   * for this, or a freshly started process would count its first requests in the insurance limiter only.
   */
  ready: Promise<void>;
}

export interface ChainLink {
  name: string;
  points: number;
  durationSec: number;
  blockSec: number;
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
    const chain: Store['chain'] = (links) =>
      consumeInOrder(links.map((l) => [make(l.name, l.points, l.durationSec, l.blockSec), l.points]));
    return makeLimits('memory', { make, backoff, chain, ready: Promise.resolve() }, async () => {});
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
  client.defineCommand('rampartChain', { lua: CHAIN_SCRIPT });
  const chain: Store['chain'] = (links) => {
    // The same insurance as each single limiter: per-process counters while Redis is unreachable.
    const insurance = consumeInOrder(
      links.map((l) => [
        new RateLimiterMemory({
          keyPrefix: `${prefix}:${l.name}`,
          points: l.points,
          duration: l.durationSec,
          blockDuration: l.blockSec,
        }),
        l.points,
      ]),
    );
    const args = links.map((l) => [l.points, l.durationSec, l.blockSec]);
    return async (keys) => {
      const redisKeys: string[] = [];
      const redisArgs: number[] = [];
      keys.forEach((key, i) => {
        if (key === undefined || !links[i]) return;
        redisKeys.push(`${prefix}:${links[i].name}:${storeKey(key)}`);
        redisArgs.push(...args[i]!);
      });
      if (redisKeys.length === 0) return { allowed: true, remaining: Math.min(...links.map((l) => l.points)) };
      let answer: [number, number];
      try {
        answer = (await (client as unknown as ChainClient).rampartChain(
          redisKeys.length,
          ...redisKeys,
          ...redisArgs,
        )) as [number, number];
      } catch {
        return insurance(keys);
      }
      const [refused, value] = answer;
      return refused ? { allowed: false, retryAfterSec: retryAfterSec(value) } : { allowed: true, remaining: value };
    };
  };
  return makeLimits('redis', { make, backoff, chain, ready: firstReady(client, FIRST_CONNECT_MS) }, async () => {
    await client.quit().catch(() => client.disconnect());
  });
}

interface ChainClient {
  rampartChain(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
}

/**
 * rate-limiter-flexible's own counting (RateLimiterRedis' increment script, then its block on the
 * first consume past the points), for each key in order in one script: the counters are the ones
 * the single limiters keep. ARGV holds points, durationSec and blockSec per key. Returns
 * {1, ms before the next point} at the first refusal (later keys untouched), else {0, fewest left}.
 */
const CHAIN_SCRIPT = `
local remaining = nil
for i = 1, #KEYS do
  local points = tonumber(ARGV[i * 3 - 2])
  local duration = tonumber(ARGV[i * 3 - 1])
  local block = tonumber(ARGV[i * 3])
  redis.call('set', KEYS[i], 0, 'EX', duration, 'NX')
  local consumed = redis.call('incrby', KEYS[i], 1)
  local ttl = redis.call('pttl', KEYS[i])
  if ttl == -1 then
    redis.call('expire', KEYS[i], duration)
    ttl = 1000 * duration
  end
  if consumed > points then
    if block > 0 and consumed <= points + 1 then
      redis.call('set', KEYS[i], consumed, 'EX', block)
      ttl = 1000 * block
    end
    return {1, ttl}
  end
  local left = points - consumed
  if remaining == nil or left < remaining then remaining = left end
end
return {0, remaining}`;

/** The in-process chain: each limiter in order, stopping at the first refusal. */
function consumeInOrder(
  limiters: Array<[RateLimiterAbstract, number]>,
): (keys: ReadonlyArray<string | undefined>) => Promise<LimitResult> {
  return async (keys) => {
    let remaining = Math.min(...limiters.map(([, points]) => points));
    for (let i = 0; i < limiters.length; i++) {
      const key = keys[i];
      if (key === undefined) continue;
      try {
        const res = await limiters[i]![0].consume(storeKey(key), 1);
        remaining = Math.min(remaining, res.remainingPoints);
      } catch (err) {
        if (err instanceof RateLimiterRes) return { allowed: false, retryAfterSec: retryAfterSec(err.msBeforeNext) };
        throw err;
      }
    }
    return { allowed: true, remaining };
  };
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
    chain(links) {
      if (links.length === 0) throw new RangeError('a limiter chain needs at least one limit');
      for (const { name, rule } of links) {
        checkName(name);
        checkRule(rule);
      }
      const consume = store.chain(
        links.map(({ name, rule }) => ({
          name,
          points: rule.points,
          durationSec: rule.durationSec,
          blockSec: rule.blockSec ?? 0,
        })),
      );
      return {
        async consume(keys) {
          if (keys.length !== links.length) throw new RangeError('a limiter chain takes one key per limit');
          await store.ready;
          return consume(keys);
        },
      };
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

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLimits, type LimitResult, type Limits } from './limiter.js';

const redisUrl = process.env.REDIS_URL || undefined;
// A fresh prefix per run: runs never see each other's counters, and the keys can be scanned.
const prefix = `rampart_test_${randomBytes(6).toString('hex')}`;

const kinds: { kind: Limits['kind']; make: () => Limits }[] = [{ kind: 'memory', make: () => createLimits({}) }];
if (redisUrl) kinds.push({ kind: 'redis', make: () => createLimits({ redisUrl, prefix }) });

const opened: Limits[] = [];
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
});

function open(make: () => Limits): Limits {
  const limits = make();
  opened.push(limits);
  return limits;
}

const refused = (r: LimitResult) => (r.allowed ? 0 : r.retryAfterSec);

describe.each(kinds)('limits ($kind)', ({ kind, make }) => {
  const limits = open(make);
  let n = 0;
  const unique = (base: string) => `${base}_${kind}_${++n}`;

  it(`[A8] ${kind}: a limiter allows its points, then refuses with a positive retryAfterSec`, async () => {
    const l = limits.limiter(unique('signin_ip'), { points: 3, durationSec: 60 });
    expect(await l.consume('203.0.113.7')).toEqual({ allowed: true, remaining: 2 });
    expect(await l.consume('203.0.113.7')).toEqual({ allowed: true, remaining: 1 });
    expect(await l.consume('203.0.113.7')).toEqual({ allowed: true, remaining: 0 });
    const r = await l.consume('203.0.113.7');
    expect(r.allowed).toBe(false);
    expect(refused(r)).toBeGreaterThan(0);
    expect(refused(r)).toBeLessThanOrEqual(60);
  });

  it(`[A8] ${kind}: blockSec refuses for the block time once the points are spent`, async () => {
    const l = limits.limiter(unique('signup_ip'), { points: 1, durationSec: 2, blockSec: 30 });
    await l.consume('k');
    const r = await l.consume('k');
    expect(refused(r)).toBeGreaterThan(20);
    expect(refused(await l.peek('k'))).toBeGreaterThan(20);
  });

  it(`[A8] ${kind}: keys are independent`, async () => {
    const l = limits.limiter(unique('signin_account'), { points: 1, durationSec: 60 });
    expect((await l.consume('alice@example.com')).allowed).toBe(true);
    expect((await l.consume('alice@example.com')).allowed).toBe(false);
    expect(await l.consume('bob@example.com')).toEqual({ allowed: true, remaining: 0 });
  });

  it(`[A8] ${kind}: consuming several points at once counts them all`, async () => {
    const l = limits.limiter(unique('bulk'), { points: 5, durationSec: 60 });
    expect(await l.consume('k', 4)).toEqual({ allowed: true, remaining: 1 });
    expect((await l.consume('k', 2)).allowed).toBe(false);
    await expect(l.consume('k', 0)).rejects.toThrow(RangeError);
  });

  it(`[A8] ${kind}: reset forgets a key`, async () => {
    const l = limits.limiter(unique('reset'), { points: 1, durationSec: 60, blockSec: 60 });
    await l.consume('carol@example.com');
    expect((await l.consume('carol@example.com')).allowed).toBe(false);
    await l.reset('carol@example.com');
    expect(await l.consume('carol@example.com')).toEqual({ allowed: true, remaining: 0 });
  });

  it(`[A8] ${kind}: peek tells whether a consume would be refused, without consuming`, async () => {
    const l = limits.limiter(unique('peek'), { points: 2, durationSec: 60 });
    expect(await l.peek('k')).toEqual({ allowed: true, remaining: 2 });
    expect(await l.peek('k')).toEqual({ allowed: true, remaining: 2 });
    await l.consume('k');
    expect(await l.peek('k')).toEqual({ allowed: true, remaining: 1 });
    await l.consume('k');
    const r = await l.peek('k');
    expect(refused(r)).toBeGreaterThan(0);
    expect(refused(await l.peek('k'))).toBeGreaterThan(0);
  });

  it(`[A8] ${kind}: a window expires (1 s)`, async () => {
    const l = limits.limiter(unique('expiry'), { points: 1, durationSec: 1 });
    await l.consume('k');
    expect((await l.consume('k')).allowed).toBe(false);
    await sleep(1100);
    expect(await l.consume('k')).toEqual({ allowed: true, remaining: 0 });
  });

  it(`[A8] ${kind}: bad names and rules are refused`, () => {
    expect(() => limits.limiter('Bad Name', { points: 1, durationSec: 1 })).toThrow(RangeError);
    expect(() => limits.limiter('half_second', { points: 1, durationSec: 0.5 })).toThrow(RangeError);
    expect(() =>
      limits.backoff('no_forget', { freeFailures: 1, baseDelaySec: 1, maxDelaySec: 4, forgetAfterSec: 0 }),
    ).toThrow(RangeError);
  });

  it(`[A8] ${kind}: backoff lets the free attempts through, then doubles the block up to the cap`, async () => {
    const b = limits.backoff(unique('account_backoff'), {
      freeFailures: 3,
      baseDelaySec: 1,
      maxDelaySec: 8,
      forgetAfterSec: 600,
    });
    const who = 'dave@example.com';
    expect(await b.reserve(who)).toEqual({ allowed: true, remaining: 2 });
    expect(await b.reserve(who)).toEqual({ allowed: true, remaining: 1 });
    expect(await b.reserve(who)).toEqual({ allowed: true, remaining: 0 });
    // The fourth attempt is checked, and blocks the key for 1 s from the moment it was taken.
    expect(await b.reserve(who)).toEqual({ allowed: true, remaining: 0 });
    expect(refused(await b.reserve(who))).toBe(1);
    expect(await b.reserve('erin@example.com')).toEqual({ allowed: true, remaining: 2 });
  });

  it(`[A8] ${kind}: a burst of 50 attempts at once gets at most freeFailures + 1 through`, async () => {
    const b = limits.backoff(unique('account_backoff'), {
      freeFailures: 5,
      baseDelaySec: 1,
      maxDelaySec: 900,
      forgetAfterSec: 600,
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => b.reserve('victim@example.com')));
    expect(results.filter((r) => r.allowed)).toHaveLength(6);
    expect(results.filter((r) => !r.allowed).every((r) => refused(r) >= 1)).toBe(true);
  });

  it(`[A8] ${kind}: the delay doubles with each attempt let through after a block ends (1 s, then 2 s)`, async () => {
    const b = limits.backoff(unique('account_backoff'), {
      freeFailures: 0,
      baseDelaySec: 1,
      maxDelaySec: 8,
      forgetAfterSec: 600,
    });
    expect((await b.reserve('k')).allowed).toBe(true);
    expect(refused(await b.reserve('k'))).toBe(1);
    await sleep(1100);
    expect((await b.reserve('k')).allowed).toBe(true);
    expect(refused(await b.reserve('k'))).toBe(2);
  });

  it(`[A8] ${kind}: a success forgets the attempts and lifts the block (the refund)`, async () => {
    const b = limits.backoff(unique('account_backoff'), {
      freeFailures: 1,
      baseDelaySec: 60,
      maxDelaySec: 600,
      forgetAfterSec: 600,
    });
    await b.reserve('k');
    await b.reserve('k');
    expect(refused(await b.reserve('k'))).toBe(60);
    await b.succeed('k');
    expect(await b.reserve('k')).toEqual({ allowed: true, remaining: 0 });
  });

  it(`[A8] ${kind}: backoff blocks end, and attempts are forgotten after forgetAfterSec (1 s)`, async () => {
    const b = limits.backoff(unique('account_backoff'), {
      freeFailures: 1,
      baseDelaySec: 1,
      maxDelaySec: 1,
      forgetAfterSec: 1,
    });
    await b.reserve('k');
    await b.reserve('k');
    expect(refused(await b.reserve('k'))).toBe(1);
    await sleep(1100);
    expect(await b.reserve('k')).toEqual({ allowed: true, remaining: 0 });
  });
});

describe.runIf(redisUrl)('limits shared through Redis', () => {
  it('[A8] two instances (two app processes) share counters', async () => {
    const a = open(() => createLimits({ redisUrl, prefix }));
    const b = open(() => createLimits({ redisUrl, prefix }));
    const rule = { points: 2, durationSec: 60 };
    await a.limiter('shared', rule).consume('frank@example.com');
    expect(await b.limiter('shared', rule).peek('frank@example.com')).toEqual({ allowed: true, remaining: 1 });
    await b.limiter('shared', rule).consume('frank@example.com');
    expect((await a.limiter('shared', rule).consume('frank@example.com')).allowed).toBe(false);

    const backoff = { freeFailures: 0, baseDelaySec: 30, maxDelaySec: 60, forgetAfterSec: 60 };
    await a.backoff('shared_backoff', backoff).reserve('frank@example.com');
    expect(refused(await b.backoff('shared_backoff', backoff).reserve('frank@example.com'))).toBeGreaterThan(20);
  });

  it('[A8] Redis keys never contain the raw key', async () => {
    const limits = open(() => createLimits({ redisUrl, prefix }));
    const email = 'grace.hopper+test@example.com';
    await limits.limiter('privacy', { points: 5, durationSec: 60 }).consume(email);
    await limits
      .backoff('privacy_backoff', { freeFailures: 0, baseDelaySec: 5, maxDelaySec: 5, forgetAfterSec: 60 })
      .reserve(email);
    const redis = new Redis(redisUrl!);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys.filter((k) => k.startsWith(`${prefix}:privacy`)).length).toBe(2);
      for (const key of keys) {
        expect(key).not.toContain('@');
        expect(key).not.toContain(email);
        expect(key).toMatch(new RegExp(`^${prefix}:[a-z0-9_.:-]+:[0-9a-f]{32}$`));
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('limits without Redis', () => {
  it('[A8] when Redis is unreachable, limits degrade to per-process limits instead of failing', async () => {
    const limits = open(() => createLimits({ redisUrl: 'redis://127.0.0.1:1', prefix }));
    const l = limits.limiter('outage', { points: 1, durationSec: 60 });
    expect(await l.consume('k')).toEqual({ allowed: true, remaining: 0 });
    expect((await l.consume('k')).allowed).toBe(false);
    const b = limits.backoff('outage_backoff', {
      freeFailures: 0,
      baseDelaySec: 30,
      maxDelaySec: 30,
      forgetAfterSec: 60,
    });
    expect((await b.reserve('k')).allowed).toBe(true);
    expect(refused(await b.reserve('k'))).toBeGreaterThan(20);
  });
});

describe.each(kinds)('limiter chains ($kind)', ({ kind, make }) => {
  const limits = open(make);
  let n = 0;
  const unique = (base: string) => `${base}_${kind}_${++n}`;

  it(`[A8] [O6] ${kind}: a chain takes a point of each limit in one call, answering with the fewest left`, async () => {
    const [ip, key] = [unique('chain_ip'), unique('chain_key')];
    const chain = limits.chain([
      { name: ip, rule: { points: 4, durationSec: 60 } },
      { name: key, rule: { points: 2, durationSec: 60 } },
    ]);
    expect(await chain.consume(['198.51.100.1', 'k1'])).toEqual({ allowed: true, remaining: 1 });
    if (kind === 'redis') {
      // On Redis the counters are the single limiters' own: both saw the point.
      expect(await limits.limiter(ip, { points: 4, durationSec: 60 }).peek('198.51.100.1')).toEqual({
        allowed: true,
        remaining: 3,
      });
      expect(await limits.limiter(key, { points: 2, durationSec: 60 }).peek('k1')).toEqual({
        allowed: true,
        remaining: 1,
      });
    }
    expect(await chain.consume(['198.51.100.1', 'k1'])).toEqual({ allowed: true, remaining: 0 });
    const r = await chain.consume(['198.51.100.1', 'k1']);
    expect(r.allowed).toBe(false);
    expect(refused(r)).toBeGreaterThan(0);
    expect(refused(r)).toBeLessThanOrEqual(60);
    // An undefined key skips its limit (no key id presented): the address alone is charged.
    expect((await chain.consume(['198.51.100.1', undefined])).allowed).toBe(true);
    expect((await chain.consume(['198.51.100.1', undefined])).allowed).toBe(false); // its 4 points are spent
  });

  it(`[A8] [O6] ${kind}: a chain stops at the first refusal, leaving the later limits uncharged`, async () => {
    const [ip, key] = [unique('chain_ip'), unique('chain_key')];
    const chain = limits.chain([
      { name: ip, rule: { points: 2, durationSec: 60 } },
      { name: key, rule: { points: 5, durationSec: 60 } },
    ]);
    expect(await chain.consume(['198.51.100.2', 'k2'])).toEqual({ allowed: true, remaining: 1 });
    expect(await chain.consume(['198.51.100.2', 'k2'])).toEqual({ allowed: true, remaining: 0 });
    expect((await chain.consume(['198.51.100.2', 'k2'])).allowed).toBe(false);
    expect((await chain.consume(['198.51.100.2', 'k2'])).allowed).toBe(false);
    // The refused calls did not charge the key: from another address it has 5 - 3 left (its address 1).
    expect(await chain.consume(['198.51.100.3', 'k2'])).toEqual({ allowed: true, remaining: 1 });
    expect(await chain.consume(['198.51.100.3', 'k2'])).toEqual({ allowed: true, remaining: 0 });
  });

  it(`[A8] ${kind}: a chain honours blockSec as the single limiter does`, async () => {
    const name = unique('chain_block');
    const chain = limits.chain([{ name, rule: { points: 1, durationSec: 2, blockSec: 30 } }]);
    await chain.consume(['k']);
    expect(refused(await chain.consume(['k']))).toBeGreaterThan(20);
    expect(refused(await chain.consume(['k']))).toBeGreaterThan(20);
    if (kind === 'redis') {
      const single = limits.limiter(name, { points: 1, durationSec: 2, blockSec: 30 });
      expect(refused(await single.peek('k'))).toBeGreaterThan(20);
    }
  });

  it(`[A8] ${kind}: bad chains are refused`, async () => {
    expect(() => limits.chain([])).toThrow(RangeError);
    expect(() => limits.chain([{ name: 'Bad Name', rule: { points: 1, durationSec: 1 } }])).toThrow(RangeError);
    expect(() => limits.chain([{ name: unique('c'), rule: { points: 0, durationSec: 1 } }])).toThrow(RangeError);
    const chain = limits.chain([{ name: unique('c'), rule: { points: 1, durationSec: 1 } }]);
    await expect(chain.consume(['a', 'b'])).rejects.toThrow(RangeError);
  });
});

describe('limiter chains without Redis', () => {
  it('[A8] when Redis is unreachable, a chain degrades to per-process limits instead of failing', async () => {
    const limits = open(() => createLimits({ redisUrl: 'redis://127.0.0.1:1', prefix }));
    const chain = limits.chain([
      { name: 'outage_chain_ip', rule: { points: 2, durationSec: 60 } },
      { name: 'outage_chain_key', rule: { points: 1, durationSec: 60 } },
    ]);
    expect(await chain.consume(['a', 'k'])).toEqual({ allowed: true, remaining: 0 });
    expect((await chain.consume(['a', 'k'])).allowed).toBe(false);
    expect((await chain.consume(['a', 'other'])).allowed).toBe(false); // the address' two points are spent
  });
});

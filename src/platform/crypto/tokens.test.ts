import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { randomString } from './random.js';
import { hashToken, looksLikeToken, randomToken, tokenMatches } from './tokens.js';

describe('random tokens', () => {
  it('[S1] tokens are 43-character base64url strings carrying 256 bits', () => {
    for (let i = 0; i < 100; i++) {
      const token = randomToken();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('[S1] tokens are unique over many draws', () => {
    const tokens = new Set(Array.from({ length: 10_000 }, () => randomToken()));
    expect(tokens.size).toBe(10_000);
  });

  it('[S1] tokens come from the injected random source', () => {
    expect(randomToken((n) => Buffer.alloc(n, 0xff))).toBe(`${'_'.repeat(42)}8`);
    expect(() => randomToken(() => Buffer.alloc(16))).toThrow(/random source/);
  });

  it('[S1] the stored hash is the SHA-256 hex of the token', () => {
    const token = randomToken();
    expect(hashToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('[S1] tokenMatches: true for the token, false for another token or a wrong-length hash', () => {
    const token = randomToken();
    const stored = hashToken(token);
    expect(tokenMatches(token, stored)).toBe(true);
    expect(tokenMatches(randomToken(), stored)).toBe(false);
    expect(tokenMatches(token, stored.slice(0, -1))).toBe(false);
    expect(tokenMatches(token, `${stored}0`)).toBe(false);
    expect(tokenMatches(token, '')).toBe(false);
    expect(tokenMatches(token, stored.toUpperCase())).toBe(false);
  });
});

describe('random strings (invariant 5)', () => {
  it('[S1] letters come uniformly from the alphabet: bytes past the last whole multiple are thrown away', () => {
    // 36 letters: 252 = 7 × 36 is the limit, so 252..255 are skipped rather than folded onto a..d.
    const bytes = [255, 252, 0, 35, 36, 251];
    const source = (n: number) => Buffer.from(Array.from({ length: n }, () => bytes.shift() ?? 1));
    expect(randomString('abcdefghijklmnopqrstuvwxyz0123456789', 4, source)).toBe('a9a9');
    const counts = new Map<string, number>();
    for (const c of randomString('abc', 30_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(600);
    expect(() => randomString('a', 4)).toThrow(RangeError);
  });

  it('[S1] one shape check for every mailed or stored token', () => {
    expect(looksLikeToken(randomToken())).toBe(true);
    for (const bad of [
      '',
      'x'.repeat(42),
      'x'.repeat(44),
      `${'x'.repeat(42)}=`,
      `${'x'.repeat(42)}\u00e9`,
      ` ${randomToken().slice(1)}`,
    ])
      expect(looksLikeToken(bad)).toBe(false);
  });
});

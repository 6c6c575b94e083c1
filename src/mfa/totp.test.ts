import { describe, expect, it } from 'vitest';
import { readVector } from '../../test/helpers/vectors.js';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCode } from './recovery-codes.js';
import { securityScore } from './score.js';
import { acceptTotp, newTotpSecret, qrPath, totpCode, totpStep, totpUri } from './totp.js';

interface Rfc6238 {
  seeds_base32: Record<'SHA1' | 'SHA256' | 'SHA512', string>;
  digits: number;
  vectors: Array<{ unix_time: number; mode: 'SHA1' | 'SHA256' | 'SHA512'; totp: string; time_step_hex: string }>;
}

const rfc = readVector<Rfc6238>('rfc6238-totp.json');

describe('TOTP (A4)', () => {
  it.each(rfc.vectors)('[A4] RFC 6238 Appendix B: $mode at $unix_time is $totp', (v) => {
    const at = new Date(v.unix_time * 1000);
    expect(totpStep(at)).toBe(parseInt(v.time_step_hex, 16));
    expect(totpCode(rfc.seeds_base32[v.mode], at, { algorithm: v.mode, digits: rfc.digits })).toBe(v.totp);
  });

  it('[A4] a code is accepted one step early or late, not two', () => {
    const secret = newTotpSecret();
    const now = new Date('2026-11-24T10:00:10Z');
    const step = totpStep(now);
    for (const delta of [-1, 0, 1]) {
      expect(acceptTotp(secret, totpCode(secret, new Date(now.getTime() + delta * 30_000)), now, null)).toBe(
        step + delta,
      );
    }
    for (const delta of [-2, 2]) {
      expect(acceptTotp(secret, totpCode(secret, new Date(now.getTime() + delta * 30_000)), now, null)).toBeUndefined();
    }
  });

  it('[A4] a code already used in its window is refused (replay), and so is an older one', () => {
    const secret = newTotpSecret();
    const now = new Date('2026-11-24T10:00:10Z');
    const code = totpCode(secret, now);
    const step = acceptTotp(secret, code, now, null)!;
    expect(acceptTotp(secret, code, now, step)).toBeUndefined();
    expect(acceptTotp(secret, totpCode(secret, new Date(now.getTime() - 30_000)), now, step)).toBeUndefined();
    expect(acceptTotp(secret, totpCode(secret, new Date(now.getTime() + 30_000)), now, step)).toBe(step + 1);
  });

  it('[A4] malformed codes are refused without reaching the comparison', () => {
    const secret = newTotpSecret();
    const now = new Date();
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 34 5x'])
      expect(acceptTotp(secret, bad, now, null)).toBeUndefined();
    expect(acceptTotp(secret, ` ${totpCode(secret, now).replace(/(\d{3})/, '$1 ')} `, now, null)).toBe(totpStep(now));
  });

  it('[A4] secrets are 160 random bits in base32; the URI and QR code carry them for the app', () => {
    const a = newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(a);
    const uri = totpUri(a, 'ada@example.com', 'rampart.example');
    expect(uri).toMatch(/^otpauth:\/\/totp\/rampart\.example:ada%40example\.com\?/);
    expect(new URL(uri).searchParams.get('secret')).toBe(a);
    const qr = qrPath(uri);
    expect(qr.size).toBeGreaterThanOrEqual(21);
    expect(qr.d).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
  });
});

describe('recovery codes (A4)', () => {
  it('[A4] codes are 16 unambiguous characters in four groups, distinct, and match however they are typed', () => {
    const codes = Array.from({ length: 200 }, newRecoveryCode);
    expect(new Set(codes).size).toBe(200);
    for (const c of codes) expect(c).toMatch(/^[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}$/);
    const c = codes[0]!;
    expect(hashRecoveryCode(c.toUpperCase().replace(/-/g, ' '))).toBe(hashRecoveryCode(c));
    expect(looksLikeRecoveryCode(c)).toBe(true);
    expect(looksLikeRecoveryCode('123456')).toBe(false);
  });
});

describe('security score (A9)', () => {
  const now = new Date('2026-11-24T00:00:00Z');
  const days = (n: number) => new Date(now.getTime() - n * 86_400_000);
  const base = { totp: false, passkeys: 0, recoveryCodesLeft: 0, hasPassword: true, passwordChangedAt: days(10) };

  it('[A9] 75 without a second factor, with the step that raises it linked', () => {
    const s = securityScore(base, now);
    expect(s.score).toBe(75);
    expect(s.steps[0]).toMatchObject({ href: '/account/security#two-factor', points: 15 });
  });

  it('[A9] 90 with a second factor and an old password; 100 once the password is recent, or with no password', () => {
    expect(securityScore({ ...base, totp: true, passwordChangedAt: days(91) }, now)).toMatchObject({
      score: 90,
      steps: [{ href: '/account/security#password', points: 10 }],
    });
    expect(securityScore({ ...base, passkeys: 1, passwordChangedAt: days(89) }, now)).toEqual({
      score: 100,
      steps: [],
    });
    expect(securityScore({ ...base, passkeys: 2, hasPassword: false, passwordChangedAt: null }, now).score).toBe(100);
  });
});

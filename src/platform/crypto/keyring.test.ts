import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { KeyringError, formatKeyring, generateMasterKeyEntry, parseKeyring } from './keyring.js';

const keyA = Buffer.alloc(32, 0xa1);
const keyB = Buffer.alloc(32, 0xb2);
const b64A = keyA.toString('base64url');
const b64B = keyB.toString('base64url');

function keyringError(text: string): KeyringError {
  try {
    parseKeyring(text);
  } catch (error) {
    expect(error).toBeInstanceOf(KeyringError);
    return error as KeyringError;
  }
  throw new Error('expected KeyringError');
}

describe('keyring', () => {
  it('[D3] parses comma- and newline-separated versioned keys; current is the highest', () => {
    for (const text of [`v1:${b64A},v2:${b64B}`, ` v2:${b64B}\n\nv1:${b64A} ,`, `v2:${b64B}\r\nv1:${b64A}\r\n`]) {
      const ring = parseKeyring(text);
      expect(ring.current).toBe(2);
      expect(ring.versions()).toEqual([1, 2]);
      expect(ring.key(1).equals(keyA)).toBe(true);
      expect(ring.key(2).equals(keyB)).toBe(true);
    }
    expect(parseKeyring(`v7:${b64A}`).current).toBe(7);
  });

  it('[D3] key() hands out copies and throws KeyringError for an unknown version', () => {
    const ring = parseKeyring(`v1:${b64A}`);
    ring.key(1).fill(0);
    expect(ring.key(1).equals(keyA)).toBe(true);
    expect(() => ring.key(2)).toThrow(KeyringError);
  });

  it.each([
    ['empty', '', /no keys found/],
    ['only separators', ' , \n ,', /no keys found/],
    ['missing version', b64A, /entry 1 is not of the form v<N>:<key>/],
    ['version zero', `v0:${b64A}`, /version 0/],
    ['version too large', `v4294967296:${b64A}`, /version 4294967296/],
    ['duplicate version', `v1:${b64A},v1:${b64B}`, /v1 appears more than once/],
    ['duplicate version with leading zero', `v1:${b64A},v01:${b64B}`, /v1 appears more than once/],
    ['standard base64 characters', `v1:${keyA.toString('base64')}`, /not base64url/],
    ['padding', `v1:${b64A}=`, /not base64url/],
    ['non-canonical last character', `v1:${b64A.slice(0, -1)}h`, /not base64url/],
    ['too short', `v1:${Buffer.alloc(31, 7).toString('base64url')}`, /31 bytes; it must be exactly 32/],
    ['too long', `v1:${Buffer.alloc(33, 7).toString('base64url')}`, /33 bytes; it must be exactly 32/],
    ['empty key', 'v1:', /not base64url/],
  ])('[D3] rejects %s with a clear KeyringError', (_name, text, pattern) => {
    const error = keyringError(text);
    expect(error.message).toMatch(pattern);
    expect(error.message).toMatch(
      /Expected comma- or newline-separated entries like "v1:<base64url of 32 random bytes>/,
    );
  });

  it('[D3] error messages never contain key material', () => {
    const secret = Buffer.alloc(32, 0x5c).toString('base64url');
    for (const text of [
      `v1:${secret},v1:${b64A}`,
      `v1:${secret},v2:${secret}x`,
      `v1:${secret}=`,
      `x${secret}`,
      `v1:${secret.slice(0, 30)}`,
      `v0:${secret}`,
    ]) {
      const error = keyringError(text);
      expect(`${error.message}\n${error.stack}`).not.toContain(secret.slice(0, 30));
    }
    expect(() => parseKeyring(`v1:${secret}`).key(9)).toThrow(KeyringError);
    try {
      parseKeyring(`v1:${secret}`).key(9);
    } catch (error) {
      expect(String(error)).not.toContain(secret.slice(0, 30));
    }
  });

  it('[D3] inspect, JSON, String and console-style output never contain key material', () => {
    const ring = parseKeyring(`v1:${b64A},v2:${b64B}`);
    const outputs = [
      inspect(ring, { showHidden: true, depth: 10 }),
      JSON.stringify(ring),
      JSON.stringify({ ring }),
      String(ring),
      `${ring}`,
      Object.keys(ring).join(','),
    ];
    for (const out of outputs) {
      for (const key of [keyA, keyB]) {
        expect(out).not.toContain(key.toString('base64url'));
        expect(out).not.toContain(key.toString('hex'));
        expect(out).not.toContain(key.toString('base64'));
        expect(out).not.toMatch(/a1 a1|b2 b2/);
      }
    }
    expect(String(ring)).toBe('Keyring(v1,v2; current v2)');
    expect(inspect(ring)).toBe('Keyring(v1,v2; current v2)');
    expect(JSON.stringify(ring)).toBe('"Keyring(v1,v2; current v2)"');
  });

  it('[D3] generateMasterKeyEntry makes a parseable random entry', () => {
    const entry = generateMasterKeyEntry(3);
    expect(entry).toMatch(/^v3:[A-Za-z0-9_-]{43}$/);
    expect(parseKeyring(entry).current).toBe(3);
    expect(generateMasterKeyEntry(3)).not.toBe(entry);
    expect(generateMasterKeyEntry(1, (n) => Buffer.alloc(n, 0xa1))).toBe(`v1:${b64A}`);
    expect(() => generateMasterKeyEntry(0)).toThrow(KeyringError);
    expect(() => generateMasterKeyEntry(1.5)).toThrow(KeyringError);
  });

  it('[D3] formatKeyring round-trips through parseKeyring and validates', () => {
    const text = formatKeyring([
      { version: 2, key: keyB },
      { version: 1, key: keyA },
    ]);
    expect(text).toBe(`v1:${b64A},v2:${b64B}`);
    expect(parseKeyring(text).key(2).equals(keyB)).toBe(true);
    expect(() => formatKeyring([{ version: 1, key: Buffer.alloc(16) }])).toThrow(KeyringError);
    expect(() => formatKeyring([])).toThrow(KeyringError);
  });
});

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DecryptError, keyVersionOf, open, rewrap, seal } from './envelope.js';
import { generateMasterKeyEntry, parseKeyring } from './keyring.js';

const RUNS = { numRuns: 200 };
const v1 = generateMasterKeyEntry(1);
const v2 = generateMasterKeyEntry(2);
const ringV1 = parseKeyring(v1);
const ringV12 = parseKeyring(`${v1},${v2}`);
const ringV2 = parseKeyring(v2);
const ctx = { org: 'org_1', record: 'cred_1', field: 'api_key' };

const plaintexts = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
const contexts = fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), { maxKeys: 5 });

const decodeBlob = (sealed: string) => Buffer.from(sealed.slice('rmp1.'.length), 'base64url');
const encodeBlob = (blob: Buffer) => `rmp1.${blob.toString('base64url')}`;

function expectDecryptError(fn: () => unknown): DecryptError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptError);
    const e = error as DecryptError;
    expect(e.code).toBe('decrypt_failed');
    expect(e.message).toMatch(/^(ciphertext failed authentication|unknown key version \d+|malformed ciphertext)$/);
    return e;
  }
  throw new Error('expected DecryptError, nothing was thrown');
}

describe('envelope encryption', () => {
  it('[D1] round trip for arbitrary plaintext (including empty) and arbitrary context', () => {
    fc.assert(
      fc.property(plaintexts, contexts, (plaintext, context) => {
        const sealed = seal(ringV1, plaintext, context);
        expect(sealed).toMatch(/^rmp1\.[A-Za-z0-9_-]+$/);
        expect(open(ringV1, sealed, { ...context }).equals(plaintext)).toBe(true);
      }),
      RUNS,
    );
  });

  it('[D1] string plaintext is sealed as UTF-8 and context key order does not matter', () => {
    const sealed = seal(ringV1, 'sk_live_ünïcode', { b: '2', a: '1' });
    expect(open(ringV1, sealed, { a: '1', b: '2' }).toString('utf8')).toBe('sk_live_ünïcode');
  });

  it('[D1] each seal uses fresh randomness: same input, different ciphertexts', () => {
    expect(seal(ringV1, 'same', ctx)).not.toBe(seal(ringV1, 'same', ctx));
  });

  it('[D1] flipping any single bit of the blob makes open throw DecryptError', () => {
    fc.assert(
      fc.property(plaintexts, contexts, fc.nat(), (plaintext, context, n) => {
        const blob = decodeBlob(seal(ringV12, plaintext, context));
        const bit = n % (blob.length * 8);
        blob[bit >> 3]! ^= 1 << (bit & 7);
        expectDecryptError(() => open(ringV12, encodeBlob(blob), context));
      }),
      RUNS,
    );
  });

  it('[D1] wrong context fails: changed value, added key, removed key', () => {
    fc.assert(
      fc.property(
        plaintexts,
        contexts,
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (plaintext, context, key, value) => {
          const sealed = seal(ringV1, plaintext, context);
          const names = Object.keys(context);
          if (!names.includes(key)) expectDecryptError(() => open(ringV1, sealed, { ...context, [key]: value }));
          const [first] = names;
          if (first !== undefined) {
            expectDecryptError(() => open(ringV1, sealed, { ...context, [first]: `${context[first]}x` }));
            const { [first]: _removed, ...rest } = context;
            expectDecryptError(() => open(ringV1, sealed, rest));
          }
        },
      ),
      RUNS,
    );
  });

  it('[D1] a ciphertext moved to another record or tenant fails', () => {
    const sealed = seal(ringV1, 'secret', ctx);
    expectDecryptError(() => open(ringV1, sealed, { ...ctx, record: 'cred_2' }));
    expectDecryptError(() => open(ringV1, sealed, { ...ctx, org: 'org_2' }));
    // Unambiguous encoding: shifting characters between key and value is a different context.
    const shifted = seal(ringV1, 'secret', { ab: 'c' });
    expectDecryptError(() => open(ringV1, shifted, { a: 'bc' }));
  });

  it('[D3] a v1 record opens with keyring {v1,v2}, and new seals use v2', () => {
    const old = seal(ringV1, 'token', ctx);
    expect(keyVersionOf(old)).toBe(1);
    expect(open(ringV12, old, ctx).toString()).toBe('token');
    const fresh = seal(ringV12, 'token', ctx);
    expect(keyVersionOf(fresh)).toBe(2);
    expect(open(ringV12, fresh, ctx).toString()).toBe('token');
  });

  it('[D3] rewrap moves a v1 record to v2 without touching the data ciphertext', () => {
    fc.assert(
      fc.property(plaintexts, contexts, (plaintext, context) => {
        const old = seal(ringV1, plaintext, context);
        const moved = rewrap(ringV12, old, context);
        expect(keyVersionOf(moved)).toBe(2);
        expect(open(ringV2, moved, context).equals(plaintext)).toBe(true);
        // 68 = header (8) + wrap nonce (12) + wrapped key (32) + wrap tag (16); the rest is the data layer.
        expect(decodeBlob(moved).subarray(68).equals(decodeBlob(old).subarray(68))).toBe(true);
        expectDecryptError(() => open(ringV1, moved, context));
      }),
      { numRuns: 50 },
    );
  });

  it('[D3] rewrap authenticates the old wrap first', () => {
    const old = seal(ringV1, 'token', ctx);
    expectDecryptError(() => rewrap(ringV12, old, { ...ctx, record: 'other' }));
    const blob = decodeBlob(old);
    blob[30]! ^= 1; // inside the wrapped key
    expectDecryptError(() => rewrap(ringV12, encodeBlob(blob), ctx));
  });

  it('[D3] rewrap of a record with tampered data still fails to open', () => {
    const blob = decodeBlob(seal(ringV1, 'token', ctx));
    blob[blob.length - 20]! ^= 1;
    const moved = rewrap(ringV12, encodeBlob(blob), ctx);
    expectDecryptError(() => open(ringV2, moved, ctx));
  });

  it('[D3] a keyring missing the version fails with DecryptError', () => {
    const e = expectDecryptError(() => open(ringV2, seal(ringV1, 'token', ctx), ctx));
    expect(e.message).toBe('unknown key version 1');
  });

  it('[D1] tampered base64 and truncated input fail with DecryptError', () => {
    const sealed = seal(ringV1, 'secret-value', ctx);
    const body = sealed.slice(5);
    for (const bad of [
      '',
      'rmp1.',
      `rmp2.${body}`,
      body,
      `${sealed}=`,
      `${sealed}!`,
      `${sealed.slice(0, 20)}*${sealed.slice(21)}`,
      sealed.slice(0, -1) + (sealed.endsWith('A') ? 'B' : 'A'),
      `rmp1.${Buffer.alloc(95).toString('base64url')}`,
    ]) {
      expectDecryptError(() => open(ringV1, bad, ctx));
    }
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expectDecryptError(() => open(ringV1, sealed.slice(0, n % sealed.length), ctx));
      }),
      RUNS,
    );
    expectDecryptError(() => keyVersionOf(sealed.slice(0, 40)));
  });

  it('[D1] non-canonical base64 (unused trailing bits set) fails, so every character is authenticated', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sealed = seal(ringV1, 'x', ctx); // 97-byte blob: the last character carries 4 unused bits
    const last = alphabet.indexOf(sealed.at(-1)!);
    const twin = sealed.slice(0, -1) + alphabet[last ^ 1];
    expect(decodeBlob(twin).equals(decodeBlob(sealed))).toBe(true);
    expectDecryptError(() => open(ringV1, twin, ctx));
  });

  it('[D1] error messages never carry the plaintext', () => {
    const e = expectDecryptError(() => open(ringV1, seal(ringV1, 'hunter2-secret', ctx), { ...ctx, org: 'x' }));
    expect(`${e.message} ${e.stack}`).not.toContain('hunter2');
  });

  it('[D1] uses the injected random source for data key and nonces', () => {
    let calls = 0;
    const random = (n: number) => {
      calls += 1;
      return Buffer.alloc(n, calls);
    };
    const a = seal(ringV1, 'x', ctx, random);
    calls = 0;
    expect(seal(ringV1, 'x', ctx, random)).toBe(a);
    expect(() => seal(ringV1, 'x', ctx, () => Buffer.alloc(4))).toThrow(/random source/);
  });
});

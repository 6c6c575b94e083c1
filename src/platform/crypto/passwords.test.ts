import { describe, it, expect } from 'vitest';
import argon2 from 'argon2';
import { readVector } from '../../../test/helpers/vectors.js';
import { OWASP_PARAMS, createPasswordHasher } from './passwords.js';

interface Vectors {
  common: {
    version: number;
    memory_kib: number;
    iterations: number;
    parallelism: number;
    tag_length: number;
    password_hex: string;
    salt_hex: string;
    secret_hex: string;
    associated_data_hex: string;
  };
  vectors: Array<{ section: string; type: 'argon2d' | 'argon2i' | 'argon2id'; tag_hex: string }>;
}

const vectors = readVector<Vectors>('rfc9106-argon2.json');

const FAST = { memoryKiB: 1024, iterations: 1, parallelism: 1 };

describe('password hashing', () => {
  it.each(vectors.vectors)(
    '[D2] reproduces the RFC 9106 section $section $type test vector',
    async ({ type, tag_hex }) => {
      const c = vectors.common;
      const tag = await argon2.hash(Buffer.from(c.password_hex, 'hex'), {
        raw: true,
        type: argon2[type],
        version: c.version,
        memoryCost: c.memory_kib,
        timeCost: c.iterations,
        parallelism: c.parallelism,
        hashLength: c.tag_length,
        salt: Buffer.from(c.salt_hex, 'hex'),
        secret: Buffer.from(c.secret_hex, 'hex'),
        associatedData: Buffer.from(c.associated_data_hex, 'hex'),
      });
      expect(tag.toString('hex')).toBe(tag_hex);
    },
  );

  it('[D2] the RFC 9106 Argon2id vector is present', () => {
    expect(vectors.vectors.some((v) => v.type === 'argon2id')).toBe(true);
  });

  it('[D2] hash/verify round trip; wrong password is false', async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await hasher.hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(stored, 'correct horse battery stapler')).toBe(false);
    expect(await hasher.verify(stored, '')).toBe(false);
  });

  it('[D2] OWASP parameters: m=19456 KiB, t=2, p=1, Argon2id', async () => {
    expect(OWASP_PARAMS).toEqual({ memoryKiB: 19456, iterations: 2, parallelism: 1 });
    const hasher = createPasswordHasher();
    expect(hasher.params).toEqual(OWASP_PARAMS);
    const stored = await hasher.hash('pässwörd');
    expect(stored.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
    expect(await hasher.verify(stored, 'pässwörd')).toBe(true);
    expect(hasher.needsRehash(stored)).toBe(false);
  });

  it("[D2] hashes in the library's own m,p,t order still verify and need no rehash", async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await argon2.hash('pw', { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(stored).toContain('m=1024,p=1,t=1');
    expect(await hasher.verify(stored, 'pw')).toBe(true);
    expect(hasher.needsRehash(stored)).toBe(false);
  });

  it('[D2] salts differ between two hashes of the same password', async () => {
    const hasher = createPasswordHasher(FAST);
    const [a, b] = await Promise.all([hasher.hash('same'), hasher.hash('same')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('[D2] verify returns false, never throws, for malformed hashes', async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await hasher.hash('pw');
    for (const bad of [
      '',
      'pw',
      '$argon2id$',
      '$argon2id$v=19$m=1024,t=1,p=1$',
      stored.slice(0, -10),
      stored.replace('m=1024', 'm=abc'),
      stored.replace('$argon2id$', '$constructor$'),
      '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
      null as unknown as string,
    ]) {
      await expect(hasher.verify(bad, 'pw')).resolves.toBe(false);
    }
  });

  it('[D2] needsRehash: false for the same params, true when params change or the hash is not Argon2id', async () => {
    const hasher = createPasswordHasher(FAST);
    const stored = await hasher.hash('pw');
    expect(hasher.needsRehash(stored)).toBe(false);
    expect(createPasswordHasher({ ...FAST, memoryKiB: 2048 }).needsRehash(stored)).toBe(true);
    expect(createPasswordHasher({ ...FAST, iterations: 2 }).needsRehash(stored)).toBe(true);
    expect(createPasswordHasher({ ...FAST, parallelism: 2 }).needsRehash(stored)).toBe(true);
    const argon2i = await argon2.hash('pw', { type: argon2.argon2i, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(hasher.needsRehash(argon2i)).toBe(true);
    expect(hasher.needsRehash('garbage')).toBe(true);
    expect(hasher.needsRehash('$argon2id$garbage')).toBe(true);
  });

  it('[D2] rejects unusable parameters with a clear error', () => {
    expect(() => createPasswordHasher({ ...FAST, iterations: 0 })).toThrow(/iterations/);
    expect(() => createPasswordHasher({ ...FAST, parallelism: 0 })).toThrow(/parallelism/);
    expect(() => createPasswordHasher({ memoryKiB: 8, iterations: 1, parallelism: 2 })).toThrow(
      /at least 8 x parallelism/,
    );
    expect(() => createPasswordHasher({ ...FAST, memoryKiB: 1.5 })).toThrow(/memory/);
  });

  it('[D2] verifyAgainstDummy spends a real verify and returns false', async () => {
    const hasher = createPasswordHasher(FAST);
    await expect(hasher.verifyAgainstDummy('anything')).resolves.toBe(false);
    await expect(hasher.verifyAgainstDummy('')).resolves.toBe(false);
  });
});

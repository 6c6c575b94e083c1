import { randomBytes } from 'node:crypto';

/** Returns n random bytes. Injected (architecture invariant 5) so tests can be deterministic. */
export type RandomSource = (n: number) => Buffer;

export const systemRandom: RandomSource = (n) => randomBytes(n);

/**
 * `length` characters drawn uniformly from `alphabet` (at most 256 letters): bytes at or above the
 * largest multiple of the alphabet's size are thrown away, so no letter is likelier than another.
 */
export function randomString(alphabet: string, length: number, random: RandomSource = systemRandom): string {
  if (alphabet.length < 2 || alphabet.length > 256) throw new RangeError('an alphabet needs 2 to 256 letters');
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of draw(random, length)) if (b < limit && out.length < length) out += alphabet[b % alphabet.length];
  }
  return out;
}

/** Draws n bytes, refusing a source that returns a different amount: a short key or nonce must never slip through. */
export function draw(random: RandomSource, n: number): Buffer {
  const bytes = random(n);
  if (!Buffer.isBuffer(bytes) || bytes.length !== n) {
    throw new Error(`random source returned ${Buffer.isBuffer(bytes) ? bytes.length : 'no'} bytes, expected ${n}`);
  }
  return bytes;
}

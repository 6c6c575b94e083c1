import { randomBytes } from 'node:crypto';

/** Returns n random bytes. Injected (architecture invariant 5) so tests can be deterministic. */
export type RandomSource = (n: number) => Buffer;

export const systemRandom: RandomSource = (n) => randomBytes(n);

/** Draws n bytes, refusing a source that returns a different amount: a short key or nonce must never slip through. */
export function draw(random: RandomSource, n: number): Buffer {
  const bytes = random(n);
  if (!Buffer.isBuffer(bytes) || bytes.length !== n) {
    throw new Error(`random source returned ${Buffer.isBuffer(bytes) ? bytes.length : 'no'} bytes, expected ${n}`);
  }
  return bytes;
}

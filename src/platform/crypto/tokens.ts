import { createHash, timingSafeEqual } from 'node:crypto';
import { draw, systemRandom, type RandomSource } from './random.js';

export type { RandomSource } from './random.js';
export { systemRandom } from './random.js';

const TOKEN_BYTES = 32;

/** 256 random bits as base64url (43 characters). Send once; store only hashToken(token). */
export function randomToken(random: RandomSource = systemRandom): string {
  return draw(random, TOKEN_BYTES).toString('base64url');
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Whether a presented string has the shape of randomToken(): the check every feature makes before a lookup. */
export const looksLikeToken = (presented: string): boolean => TOKEN_SHAPE.test(presented);

/** The stored lookup form of a token: SHA-256, lowercase hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time check of a presented token against a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const actual = Buffer.from(hashToken(token), 'utf8');
  const expected = Buffer.from(storedHash, 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

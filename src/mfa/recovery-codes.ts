import { randomString } from '../platform/crypto/random.js';
import { hashToken, type RandomSource } from '../platform/crypto/tokens.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: read aloud and typed by hand

/** 16 characters from a 31-letter alphabet: 79 bits, so a plain SHA-256 of it is enough at rest. */
export function newRecoveryCode(random?: RandomSource): string {
  const chars = randomString(ALPHABET, 16, random);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4)).join('-');
}

/** What people type: any case, with or without dashes and spaces. */
export const normalizeRecoveryCode = (input: string) => input.toLowerCase().replace(/[\s-]+/g, '');

export const hashRecoveryCode = (code: string) => hashToken(normalizeRecoveryCode(code));

export const looksLikeRecoveryCode = (input: string) =>
  new RegExp(`^[${ALPHABET}]{16}$`).test(normalizeRecoveryCode(input));

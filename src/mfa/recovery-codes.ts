import { randomBytes } from 'node:crypto';
import { hashToken } from '../platform/crypto/tokens.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: read aloud and typed by hand

/** 16 characters from a 31-letter alphabet: 79 bits, so a plain SHA-256 of it is enough at rest. */
export function newRecoveryCode(): string {
  const chars: string[] = [];
  while (chars.length < 16) {
    for (const b of randomBytes(32)) {
      if (b < 248 && chars.length < 16) chars.push(ALPHABET[b % 31]!); // 248 = 8 × 31: no modulo bias
    }
  }
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/** What people type: any case, with or without dashes and spaces. */
export const normalizeRecoveryCode = (input: string) => input.toLowerCase().replace(/[\s-]+/g, '');

export const hashRecoveryCode = (code: string) => hashToken(normalizeRecoveryCode(code));

export const looksLikeRecoveryCode = (input: string) => new RegExp(`^[${ALPHABET}]{16}$`).test(normalizeRecoveryCode(input));

import { createHmac, timingSafeEqual } from 'node:crypto';
import { draw, systemRandom, type RandomSource } from './random.js';

const NONCE_BYTES = 16;
const SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * OWASP's device cookies: a browser that has signed in to an account gets `<nonce>.<HMAC(account,
 * nonce)>`. Presented again with that account's password it proves "this browser has been here
 * before", so guesses from everywhere else cannot lock it out (A8). It grants nothing by itself.
 * `account` is the sign-in address: the check needs no database read, so it can come before any.
 */
export interface DeviceTokens {
  issue(account: string): string;
  /** The device's id (its nonce) when the token was issued for this account, else undefined. */
  deviceOf(token: string | null | undefined, account: string): string | undefined;
}

export function createDeviceTokens(key: Buffer, random: RandomSource = systemRandom): DeviceTokens {
  const sign = (account: string, nonce: string) => createHmac('sha256', key).update(`${account}\n${nonce}`).digest();
  return {
    issue(account) {
      const nonce = draw(random, NONCE_BYTES).toString('base64url');
      return `${nonce}.${sign(account, nonce).toString('base64url')}`;
    },
    deviceOf(token, account) {
      const match = token ? SHAPE.exec(token) : null;
      if (!match) return undefined;
      const presented = Buffer.from(match[2]!, 'base64url');
      const expected = sign(account, match[1]!);
      return presented.length === expected.length && timingSafeEqual(presented, expected) ? match[1] : undefined;
    },
  };
}

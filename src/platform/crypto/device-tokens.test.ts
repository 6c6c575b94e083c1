import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeviceTokens } from './device-tokens.js';

const alice = 'alice@example.com';
const bob = 'bob@example.com';

describe('device tokens (A8)', () => {
  const devices = createDeviceTokens(randomBytes(32));

  it('[A8] a device token names its device for the account it was issued to, and for no other', () => {
    const token = devices.issue(alice);
    expect(devices.deviceOf(token, alice)).toBe(token.split('.')[0]);
    expect(devices.deviceOf(token, bob)).toBeUndefined();
  });

  it('[A8] forged, truncated, odd and missing tokens are no device', () => {
    const [nonce, mac] = devices.issue(alice).split('.') as [string, string];
    for (const bad of [
      `${nonce}.${'A'.repeat(43)}`,
      `${nonce}.${mac.slice(1)}`,
      `${nonce}${mac}`,
      `${nonce}.${mac}.x`,
      '',
      ' ',
      '\u0000',
      'ü'.repeat(66),
      null,
      undefined,
    ]) {
      expect(devices.deviceOf(bad, alice)).toBeUndefined();
    }
    // another deployment's key
    expect(createDeviceTokens(randomBytes(32)).deviceOf(`${nonce}.${mac}`, alice)).toBeUndefined();
  });

  it('[A8] the random source is injected and used for the device id', () => {
    const fixed = createDeviceTokens(Buffer.alloc(32, 1), (n) => Buffer.alloc(n, 7));
    expect(fixed.issue(alice).split('.')[0]).toBe(Buffer.alloc(16, 7).toString('base64url'));
    expect(() => createDeviceTokens(Buffer.alloc(32), (n) => Buffer.alloc(n - 1)).issue(alice)).toThrow();
  });
});

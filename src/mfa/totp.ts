import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import { draw, systemRandom, type RandomSource } from '../platform/crypto/random.js';

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SEC = 30;
export const TOTP_DIGITS = 6;

/** A new 160-bit secret (RFC 4226 recommends at least 128), base32 for manual entry. */
export function newTotpSecret(random: RandomSource = systemRandom): string {
  return new OTPAuth.Secret({ buffer: new Uint8Array(draw(random, 20)).buffer }).base32;
}

export function totpUri(secretBase32: string, account: string, issuer: string): string {
  return new OTPAuth.TOTP({
    issuer,
    label: account,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SEC,
  }).toString();
}

export const totpStep = (now: Date) => Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SEC);

/**
 * The time step a code belongs to, if it is valid within ±1 step of now and newer than the last
 * step accepted (a code seen once is refused for the rest of its window: replay).
 */
export function acceptTotp(
  secretBase32: string,
  code: string,
  now: Date,
  lastUsedStep: number | null,
): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const delta = OTPAuth.TOTP.validate({
    token,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SEC,
    timestamp: now.getTime(),
    window: 1,
  });
  if (delta === null) return undefined;
  const step = totpStep(now) + delta;
  if (lastUsedStep !== null && step <= lastUsedStep) return undefined;
  return step;
}

/** The code for a moment (tests and the RFC vectors). */
export function totpCode(
  secretBase32: string,
  at: Date,
  opts: { algorithm?: 'SHA1' | 'SHA256' | 'SHA512'; digits?: number } = {},
): string {
  return OTPAuth.TOTP.generate({
    secret: OTPAuth.Secret.fromBase32(secretBase32),
    algorithm: opts.algorithm ?? 'SHA1',
    digits: opts.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD_SEC,
    timestamp: at.getTime(),
  });
}

/** The QR code of a text as one SVG path of its dark modules (drawn by a component: no raw markup). */
export function qrPath(text: string): { size: number; d: string } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const parts: string[] = [];
  for (let y = 0; y < modules.size; y++) {
    for (let x = 0; x < modules.size; x++) if (modules.get(y, x)) parts.push(`M${x} ${y}h1v1h-1z`);
  }
  return { size: modules.size, d: parts.join('') };
}

import type { Limits } from '../platform/limits/limiter.js';

/**
 * A8 for second factors: per IP against spraying, and a per-account backoff against guessing one
 * person's codes. Reaching a second-factor check already takes the first factor.
 */
export function mfaLimits(limits: Limits) {
  return {
    checksByIp: limits.limiter('mfa_ip', { points: 30, durationSec: 15 * 60 }),
    // Passkey challenges are stored rows and passwordless sign-in asks for them without a session.
    challengesByIp: limits.limiter('webauthn_challenge_ip', { points: 60, durationSec: 15 * 60 }),
    failures: limits.backoff('mfa_account', {
      freeFailures: 5,
      baseDelaySec: 1,
      maxDelaySec: 15 * 60,
      forgetAfterSec: 24 * 60 * 60,
    }),
  };
}

export type MfaLimits = ReturnType<typeof mfaLimits>;

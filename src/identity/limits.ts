import type { Limits } from '../platform/limits/limiter.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;

const PASSWORD_BACKOFF = { freeFailures: 5, baseDelaySec: 1, maxDelaySec: 15 * MINUTE, forgetAfterSec: 24 * HOUR };

/**
 * A8. Per-IP limits stop one source from spraying many accounts; per-account limits stop many
 * sources from hammering one account, without letting them lock the owner out:
 * - password attempts are taken before the password is checked, so a burst gets no more than the
 *   free ones and one more;
 * - a browser that has signed in to the account before (device cookie) has its own backoff, so
 *   guesses from everywhere else never block it;
 * - mailed links are never refused per account: a request made while a live link of the same
 *   purpose is under RESEND_AFTER old sends nothing new, so the owner's newest mail always works.
 */
export function identityLimits(limits: Limits) {
  return {
    signUpByIp: limits.limiter('signup_ip', { points: 10, durationSec: HOUR }),
    signInByIp: limits.limiter('signin_ip', { points: 50, durationSec: 15 * MINUTE }),
    /** Password attempts on an account from browsers it has not signed in from. */
    passwordByAccount: limits.backoff('password_account', PASSWORD_BACKOFF),
    /** Password attempts from one browser holding the account's device cookie. */
    passwordByDevice: limits.backoff('password_device', PASSWORD_BACKOFF),
    /** The current password asked again inside a session (changing it). */
    passwordBySession: limits.backoff('password_session', PASSWORD_BACKOFF),
    mailByIp: limits.limiter('mail_ip', { points: 10, durationSec: HOUR }),
    mailByAccountAndIp: limits.limiter('mail_account_ip', { points: 5, durationSec: 15 * MINUTE }),
    /** Only the signed-in owner (after step-up) can ask for these, so a per-account cap locks no one out. */
    emailChangeByAccount: limits.limiter('email_change_account', { points: 20, durationSec: HOUR }),
    tokenUseByIp: limits.limiter('token_ip', { points: 30, durationSec: 15 * MINUTE }),
  };
}

/** A live link of a purpose is not replaced by a new one (and no new mail goes out) for this long. */
export const RESEND_AFTER_MS = 5 * 60 * 1000;

export type IdentityLimits = ReturnType<typeof identityLimits>;

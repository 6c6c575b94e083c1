import type { BackoffRule, LimitRule, Limits } from '../platform/limits/limiter.js';

const MINUTE = 60;
const HOUR = 60 * MINUTE;

const PASSWORD_BACKOFF: BackoffRule = {
  freeFailures: 5,
  baseDelaySec: 1,
  maxDelaySec: 15 * MINUTE,
  forgetAfterSec: 24 * HOUR,
};

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
export function identityLimits(limits: Limits, rules: IdentityLimitRules = IDENTITY_LIMIT_RULES) {
  return {
    signUpByIp: limits.limiter('signup_ip', rules.signUpByIp),
    signInByIp: limits.limiter('signin_ip', rules.signInByIp),
    /** Password attempts on an account from browsers it has not signed in from. */
    passwordByAccount: limits.backoff('password_account', rules.passwordBackoff),
    /** Password attempts from one browser holding the account's device cookie. */
    passwordByDevice: limits.backoff('password_device', rules.passwordBackoff),
    /** The current password asked again inside a session (changing it). */
    passwordBySession: limits.backoff('password_session', rules.passwordBackoff),
    mailByIp: limits.limiter('mail_ip', rules.mailByIp),
    mailByAccountAndIp: limits.limiter('mail_account_ip', rules.mailByAccountAndIp),
    /** Only the signed-in owner (after step-up) can ask for these, so a per-account cap locks no one out. */
    emailChangeByAccount: limits.limiter('email_change_account', rules.emailChangeByAccount),
    tokenUseByIp: limits.limiter('token_ip', rules.tokenUseByIp),
    /** The rules in force, for the live check of A8. */
    rules,
  };
}

/** The rules of identity's limits; tests may give others (overrides.identityLimitRules). */
export interface IdentityLimitRules {
  signUpByIp: LimitRule;
  signInByIp: LimitRule;
  passwordBackoff: BackoffRule;
  mailByIp: LimitRule;
  mailByAccountAndIp: LimitRule;
  emailChangeByAccount: LimitRule;
  tokenUseByIp: LimitRule;
}

export const IDENTITY_LIMIT_RULES: IdentityLimitRules = {
  signUpByIp: { points: 10, durationSec: HOUR },
  signInByIp: { points: 50, durationSec: 15 * MINUTE },
  passwordBackoff: PASSWORD_BACKOFF,
  mailByIp: { points: 10, durationSec: HOUR },
  mailByAccountAndIp: { points: 5, durationSec: 15 * MINUTE },
  emailChangeByAccount: { points: 20, durationSec: HOUR },
  tokenUseByIp: { points: 30, durationSec: 15 * MINUTE },
};

/** A live link of a purpose is not replaced by a new one (and no new mail goes out) for this long. */
export const RESEND_AFTER_MS = 5 * 60 * 1000;

export type IdentityLimits = ReturnType<typeof identityLimits>;

import { randomBytes, randomUUID } from 'node:crypto';
import type { Feature, TrustCheck, TrustVerdict } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { type FactorState, hasSecondFactor } from './factors.js';
import type { PasskeyService } from './passkeys.js';
import {
  hashRecoveryCode,
  looksLikeRecoveryCode,
  newRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_COUNT,
} from './recovery-codes.js';
import { recoveryCodeStorage } from './repository.js';
import { PASSWORD_FRESH_DAYS, type SecurityScore } from './score.js';
import { acceptTotp, newTotpSecret, TOTP_DIGITS, TOTP_PERIOD_SEC, totpCode, totpUri } from './totp.js';

const failing = (detail: string): TrustVerdict => ({ status: 'failing', detail });
const DAY_MS = 86_400_000;

// --- A4: TOTP ---

/** The SHA-1 seed of RFC 6238 Appendix B ("12345678901234567890"), base32, and its 8-digit vectors. */
const RFC6238_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC6238_SHA1: ReadonlyArray<readonly [unixTime: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

/** The TOTP functions the check runs: Rampart's own (a test hands it broken ones). */
export const RAMPART_TOTP = { code: totpCode, accept: acceptTotp, newSecret: newTotpSecret, uri: totpUri };

/** What is wrong with the authenticator-app parameters a new enrollment gets (undefined: nothing). */
function enrollmentProblem(impl: typeof RAMPART_TOTP, secret: string): string | undefined {
  const bits = secret.replace(/=+$/, '').length * 5;
  if (bits < 128) return `a new secret has ${bits} bits (RFC 4226 asks for at least 128)`;
  const params = new URL(impl.uri(secret, 'probe@rampart.invalid', 'Rampart')).searchParams;
  const shown = `${params.get('algorithm')}, ${params.get('digits')} digits, ${params.get('period')} s`;
  if (shown !== `SHA1, ${TOTP_DIGITS} digits, ${TOTP_PERIOD_SEC} s`)
    return `the QR code tells apps ${shown}, not SHA1, ${TOTP_DIGITS} digits, ${TOTP_PERIOD_SEC} s`;
  if (params.get('secret') !== secret) return 'the QR code carries another secret than the one shown for manual entry';
  return undefined;
}

/**
 * A4: the RFC 6238 vectors come out of Rampart's TOTP code, and with a throwaway secret a current
 * code is accepted once, refused the second time, and a code two steps old is refused. No account is touched.
 */
export function totpCheck(deps: { clock: Clock; impl?: typeof RAMPART_TOTP }): TrustCheck {
  const impl = deps.impl ?? RAMPART_TOTP;
  return {
    control: 'A4',
    id: 'totp-rfc6238',
    title: 'Authenticator-app codes follow RFC 6238 and each code is accepted only once',
    async run() {
      for (const [unixTime, expected] of RFC6238_SHA1) {
        const got = impl.code(RFC6238_SEED, new Date(unixTime * 1000), { digits: 8 });
        if (got !== expected) return failing(`RFC 6238 Appendix B at T=${unixTime}: ${got} instead of ${expected}`);
      }
      const secret = impl.newSecret();
      const problem = enrollmentProblem(impl, secret);
      if (problem) return failing(problem);
      const now = deps.clock.now();
      const code = impl.code(secret, now);
      const step = impl.accept(secret, code, now, null);
      if (step === undefined) return failing('a current code of a throwaway secret was refused');
      if (impl.accept(secret, code, now, step) !== undefined)
        return failing('a code already accepted was accepted a second time (replay)');
      const stale = impl.code(secret, new Date(now.getTime() - 2 * TOTP_PERIOD_SEC * 1000));
      if (impl.accept(secret, stale, now, null) !== undefined)
        return failing(`a code ${2 * TOTP_PERIOD_SEC} s old was accepted (only one step either side may be)`);
      return {
        status: 'passing',
        detail:
          `${RFC6238_SHA1.length} RFC 6238 Appendix B vectors (SHA-1) match; new secrets have ` +
          `${secret.length * 5} bits, apps are told SHA1, ${TOTP_DIGITS} digits, ${TOTP_PERIOD_SEC} s; a current ` +
          `code was accepted once and refused the second time, a code ${2 * TOTP_PERIOD_SEC} s old refused`,
      };
    },
  };
}

// --- A4: recovery codes ---

/** The recovery-code functions the check runs: Rampart's own (a test hands it broken ones). */
export const RAMPART_RECOVERY_CODES = {
  generate: newRecoveryCode,
  hash: hashRecoveryCode,
  looksLike: looksLikeRecoveryCode,
};

/** What is wrong with a freshly generated set of codes and their hashes (undefined: nothing). */
function recoverySetProblem(impl: typeof RAMPART_RECOVERY_CODES): string | undefined {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => impl.generate());
  if (new Set(codes).size !== codes.length) return `a set of ${codes.length} new codes repeats a code`;
  const hashes = new Set<string>();
  for (const code of codes) {
    if (!impl.looksLike(code)) return 'a new recovery code is not accepted as one';
    const hash = impl.hash(code);
    if (!/^[0-9a-f]{64}$/.test(hash) || hash.includes(normalizeRecoveryCode(code)))
      return 'a recovery code would be stored readable, not as its SHA-256';
    const typed = normalizeRecoveryCode(code).toUpperCase();
    if (impl.hash(typed) !== hash) return 'a code typed in capitals without dashes does not match its stored hash';
    hashes.add(hash);
  }
  if (hashes.size !== codes.length) return 'two different codes have the same stored hash';
  return undefined;
}

/**
 * A4: a new set of recovery codes (made in memory by the real code path) is distinct and kept only
 * as SHA-256 digests, and no stored code of this instance is kept in another form.
 */
export function recoveryCodesCheck(deps: { db: Tenancy; impl?: typeof RAMPART_RECOVERY_CODES }): TrustCheck {
  const impl = deps.impl ?? RAMPART_RECOVERY_CODES;
  return {
    control: 'A4',
    id: 'recovery-codes-hashed',
    title: 'Recovery codes are kept only as SHA-256 digests, ten distinct ones per set',
    async run() {
      const problem = recoverySetProblem(impl);
      if (problem) return failing(problem);
      const { stored, unhashed } = await deps.db.withSystem((tx) => recoveryCodeStorage(tx));
      if (unhashed > 0) return failing(`${unhashed} of ${stored} stored recovery codes are not SHA-256 digests`);
      return {
        status: 'passing',
        detail:
          `a new set of ${RECOVERY_CODE_COUNT} codes is distinct, each kept as its SHA-256 (matched however it is ` +
          `typed); all ${stored} stored codes are SHA-256 digests`,
      };
    },
  };
}

// --- A5: passkeys ---

const isIpAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(':') || host.startsWith('[');

/** What is wrong with the origin and RP ID in force for this base URL (undefined: nothing). */
function relyingPartyProblem(baseUrl: string, origin: string, rpID: string): string | undefined {
  const base = new URL(baseUrl);
  if (origin !== base.origin) return `ceremonies expect the origin ${origin}, the base URL is ${base.origin}`;
  if (base.protocol !== 'https:' && base.hostname !== 'localhost')
    return `the base URL ${base.origin} is not https (browsers offer passkeys only on https or localhost)`;
  if (isIpAddress(rpID)) return `the RP ID ${rpID} is an IP address (WebAuthn needs a domain name)`;
  if (base.hostname !== rpID && !base.hostname.endsWith(`.${rpID}`))
    return `the RP ID ${rpID} is not the base URL's host ${base.hostname} or a parent domain of it`;
  return undefined;
}

/**
 * A5: the WebAuthn settings in force match the base URL, require user verification, and let an
 * account hold several passkeys (the ones it has are excluded, so each authenticator registers once).
 * The options are made for a made-up account; nothing is stored.
 */
export function passkeySettingsCheck(deps: { passkeys: PasskeyService; baseUrl: string }): TrustCheck {
  return {
    control: 'A5',
    id: 'passkey-settings',
    title: 'Passkeys are bound to this site, verify the user, and an account may hold several',
    async run() {
      const existing = [0, 1].map(() => ({ id: randomBytes(32).toString('base64url'), transports: ['internal'] }));
      const user = { id: randomUUID(), email: 'probe@rampart.invalid' };
      const s = await deps.passkeys.settings({ user, existing });
      const problem = relyingPartyProblem(deps.baseUrl, s.origin, s.rpID);
      if (problem) return failing(problem);
      const reg = s.registration;
      if (reg.rp.id !== s.rpID || s.assertion.rpId !== s.rpID)
        return failing(`the options name the RP ID ${reg.rp.id} / ${s.assertion.rpId}, not ${s.rpID}`);
      const uv = [s.userVerification, reg.authenticatorSelection?.userVerification, s.assertion.userVerification];
      if (uv.some((v) => v !== 'required')) return failing(`user verification is ${uv.join(' / ')}, not required`);
      if (reg.authenticatorSelection?.residentKey !== 'required')
        return failing('new passkeys are not discoverable: passwordless sign-in would not find them');
      const excluded = new Set((reg.excludeCredentials ?? []).map((c) => c.id));
      if (!existing.every((c) => excluded.has(c.id)))
        return failing(`registering with ${existing.length} passkeys excluded ${excluded.size} of them`);
      return {
        status: 'passing',
        detail:
          `RP ID ${s.rpID}, origin ${s.origin} (the base URL); user verification required to register and sign ` +
          `in; discoverable keys; an account with ${existing.length} passkeys may add another (its existing ones ` +
          'excluded)',
      };
    },
  };
}

// --- A6: organizations requiring MFA ---

/** The page the organizations' `mfa_required` refusal sends a member to, as the features declare it. */
export function mfaRequiredRedirect(features: readonly Feature[]): string | undefined {
  for (const f of features) {
    const spec = (f.errors?.codes as Record<string, { redirectTo?: string }> | undefined)?.mfa_required;
    if (spec) return spec.redirectTo;
  }
  return undefined;
}

const MEMBERS: ReadonlyArray<readonly [who: string, factors: Pick<FactorState, 'totp' | 'passkeys'>, has: boolean]> = [
  ['no factor', { totp: false, passkeys: 0 }, false],
  ['an authenticator app', { totp: true, passkeys: 0 }, true],
  ['a passkey', { totp: false, passkeys: 1 }, true],
];

/**
 * A6: whether a member has a second factor is decided right (none: must enroll; an app or a passkey:
 * may sign in with it; the sessions feature asks the same question at sign-in), and the refusal of
 * an organization requiring MFA leads to an enrollment page this instance serves.
 */
export function orgEnrollmentCheck(deps: {
  features: readonly Feature[];
  decide?: typeof hasSecondFactor;
}): TrustCheck {
  const decide = deps.decide ?? hasSecondFactor;
  return {
    control: 'A6',
    id: 'org-mfa-enrollment',
    title: 'A member without a second factor is sent to enroll before reaching an organization that requires one',
    async run(probe) {
      for (const [who, factors, has] of MEMBERS)
        if (decide(factors) !== has)
          return failing(`a member with ${who} is ${has ? 'not ' : ''}counted as two-factor`);
      const path = mfaRequiredRedirect(deps.features);
      if (!path?.startsWith('/')) return failing('the organizations’ mfa_required refusal names no enrollment page');
      const res = await probe.request(path, { headers: { accept: 'text/html' } });
      const location = String(res.headers.location ?? '');
      if (res.status !== 303 || !location.startsWith('/signin'))
        return failing(`the enrollment page ${path} answered ${res.status} to a visitor, not a sign-in redirect`);
      return {
        status: 'passing',
        detail:
          'no factor: must enroll; an app or a passkey: may reach the organization after using it; the refusal ' +
          `sends pages to ${path}, served to signed-in people`,
      };
    },
  };
}

// --- A9: security score ---

const PASSWORD_STALE = (now: Date) => new Date(now.getTime() - (PASSWORD_FRESH_DAYS + 1) * DAY_MS);

/**
 * A9: the score the account page shows is 75 without a second factor, 90 with one and an old
 * password, 100 with one and a recent password; each lower score lists the steps that add up to 100.
 */
export function securityScoreCheck(deps: { clock: Clock; scoreOf(f: FactorState): SecurityScore }): TrustCheck {
  return {
    control: 'A9',
    id: 'security-score',
    title: 'The security score is 75, 90 with two-factor, 100 with two-factor and a recent password',
    async run() {
      const now = deps.clock.now();
      const account = (totp: boolean, changed: Date): FactorState => ({
        totp,
        passkeys: 0,
        recoveryCodesLeft: totp ? RECOVERY_CODE_COUNT : 0,
        hasPassword: true,
        passwordChangedAt: changed,
      });
      const cases: ReadonlyArray<readonly [string, FactorState, number, number]> = [
        ['no second factor, an old password', account(false, PASSWORD_STALE(now)), 75, 2],
        ['an authenticator app, an old password', account(true, PASSWORD_STALE(now)), 90, 1],
        ['an authenticator app, a password changed today', account(true, now), 100, 0],
        ['a passkey and no password', { ...account(false, now), passkeys: 1, hasPassword: false }, 100, 0],
      ];
      for (const [who, factors, expected, steps] of cases) {
        const got = deps.scoreOf(factors);
        if (got.score !== expected) return failing(`an account with ${who} scores ${got.score}, not ${expected}`);
        if (got.steps.length !== steps)
          return failing(`an account with ${who} is shown ${got.steps.length} steps to raise it, not ${steps}`);
        const reaches = got.score + got.steps.reduce((sum, s) => sum + s.points, 0);
        if (reaches !== 100 || got.steps.some((s) => !s.href.startsWith('/account/')))
          return failing(`the steps shown to an account with ${who} do not lead from ${got.score} to 100`);
      }
      return {
        status: 'passing',
        detail:
          `75 without a second factor (2 steps shown), 90 with one and a password older than ${PASSWORD_FRESH_DAYS} ` +
          'days (1 step), 100 with one and a recent password or none; each step links to the account page',
      };
    },
  };
}

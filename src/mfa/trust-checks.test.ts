import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { trustTestApp } from '../../test/helpers/trust.js';
import { defineFeature } from '../feature.js';
import { defineErrors } from '../platform/errors.js';
import { injectProbe } from '../trust/probe.js';
import { hashRecoveryCode, newRecoveryCode } from './recovery-codes.js';
import {
  orgEnrollmentCheck,
  passkeySettingsCheck,
  RAMPART_RECOVERY_CODES,
  RAMPART_TOTP,
  recoveryCodesCheck,
  securityScoreCheck,
  totpCheck,
} from './trust-checks.js';

const { t, ctx, check } = await trustTestApp();
const probe = injectProbe(t.app);
const platform = () => ctx().platform;

describe('TOTP and recovery-code checks (A4)', () => {
  it('[A4] the TOTP check passes: RFC 6238 vectors match and a code is accepted only once', async () => {
    const verdict = await check('totp-rfc6238');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toContain('6 RFC 6238 Appendix B vectors');
    expect(verdict.detail).toContain('refused the second time');
  });

  it('[A4] the TOTP check fails when a used code is accepted again (no replay guard)', async () => {
    const impl = {
      ...RAMPART_TOTP,
      accept: ((s, c, n) => RAMPART_TOTP.accept(s, c, n, null)) as typeof RAMPART_TOTP.accept,
    };
    const verdict = await totpCheck({ clock: platform().clock, impl }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('accepted a second time') });
  });

  it('[A4] the TOTP check fails when the codes do not follow RFC 6238', async () => {
    const impl = {
      ...RAMPART_TOTP,
      code: ((s, at) => RAMPART_TOTP.code(s, at, { algorithm: 'SHA256' })) as typeof RAMPART_TOTP.code,
    };
    const verdict = await totpCheck({ clock: platform().clock, impl }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('RFC 6238 Appendix B at T=59') });
  });

  it('[A4] the TOTP check fails when new secrets are short or apps are told other parameters', async () => {
    const short = { ...RAMPART_TOTP, newSecret: () => 'GEZDGNBVGY3TQOJQ' };
    expect((await totpCheck({ clock: platform().clock, impl: short }).run(probe)).detail).toContain('80 bits');
    const uri = ((...a: Parameters<typeof RAMPART_TOTP.uri>) =>
      RAMPART_TOTP.uri(...a).replace('digits=6', 'digits=8')) as typeof RAMPART_TOTP.uri;
    const verdict = await totpCheck({ clock: platform().clock, impl: { ...RAMPART_TOTP, uri } }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('8 digits') });
  });

  it('[A4] the recovery-code check passes with hashed codes, and fails when codes would be kept readable', async () => {
    expect(await check('recovery-codes-hashed')).toMatchObject({ status: 'passing' });
    const impl = { ...RAMPART_RECOVERY_CODES, hash: (code: string) => code };
    const verdict = await recoveryCodesCheck({ db: platform().db, impl }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('readable') });
  });

  it('[A4] the recovery-code check fails when the generator repeats a code', async () => {
    const impl = { ...RAMPART_RECOVERY_CODES, generate: () => 'abcd-efgh-jkmn-pqrs' };
    const verdict = await recoveryCodesCheck({ db: platform().db, impl }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('repeats a code') });
  });

  it('[A4] the recovery-code check fails when a stored code is not a SHA-256 digest', async () => {
    const helpers = accounts(t);
    const me = await (await helpers.signedIn(await helpers.verified())).api('GET', '/api/v1/me');
    const userId: string = me.json().user.id;
    const now = t.clock.now();
    const hashed = { user_id: userId, code_hash: hashRecoveryCode(newRecoveryCode()), created_at: now };
    await platform().db.withSystem((tx) => tx.insertInto('recovery_codes').values(hashed).execute());
    const passing = await check('recovery-codes-hashed');
    expect(passing).toMatchObject({ status: 'passing' });
    expect(passing.detail).toMatch(/all [1-9]\d* stored codes/);
    const readable = { user_id: userId, code_hash: newRecoveryCode(), created_at: now };
    await platform().db.withSystem((tx) => tx.insertInto('recovery_codes').values(readable).execute());
    try {
      expect(await check('recovery-codes-hashed')).toEqual({
        status: 'failing',
        detail: expect.stringMatching(/^1 of \d+ stored recovery codes are not SHA-256 digests$/),
      });
    } finally {
      await platform().db.withSystem((tx) => tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute());
    }
  });
});

describe('passkey settings check (A5)', () => {
  it('[A5] passes on this instance: RP ID and origin of the base URL, user verification required', async () => {
    const verdict = await check('passkey-settings');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toContain(`RP ID ${new URL(t.config.baseUrl).hostname}`);
  });

  it('[A5] fails when the settings do not require user verification or do not exclude existing passkeys', async () => {
    const passkeys = ctx().use('passkeys');
    const lax = {
      ...passkeys,
      settings: async (sample: Parameters<typeof passkeys.settings>[0]) => {
        const s = await passkeys.settings(sample);
        return { ...s, assertion: { ...s.assertion, userVerification: 'preferred' as const } };
      },
    };
    const baseUrl = t.config.baseUrl;
    expect((await passkeySettingsCheck({ passkeys: lax, baseUrl }).run(probe)).detail).toContain(
      'user verification is required / required / preferred',
    );
    const open = {
      ...passkeys,
      settings: async (sample: Parameters<typeof passkeys.settings>[0]) =>
        passkeys.settings({ ...sample, existing: sample.existing.slice(1) }),
    };
    expect((await passkeySettingsCheck({ passkeys: open, baseUrl }).run(probe)).detail).toContain(
      'registering with 2 passkeys excluded 1',
    );
  });

  it('[A5] fails when the ceremonies expect another origin than the base URL', async () => {
    const passkeys = ctx().use('passkeys');
    const verdict = await passkeySettingsCheck({ passkeys, baseUrl: 'https://auth.example.com' }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('the base URL is https://auth') });
  });
});

describe('passkey settings check on a misconfigured base URL (A5)', async () => {
  const ip = await trustTestApp({ RAMPART_BASE_URL: 'https://192.0.2.10' });
  const plain = await trustTestApp({ RAMPART_BASE_URL: 'http://auth.example.com' });

  it('[A5] fails when the base URL is an IP address (no RP ID) or plain http off localhost', async () => {
    expect(await ip.check('passkey-settings')).toEqual({
      status: 'failing',
      detail: 'the RP ID 192.0.2.10 is an IP address (WebAuthn needs a domain name)',
    });
    expect(await plain.check('passkey-settings')).toEqual({
      status: 'failing',
      detail: expect.stringContaining('http://auth.example.com is not https'),
    });
  });
});

describe('organization MFA enrollment check (A6)', () => {
  const deps = () => ({ features: ctx().features });

  it('[A6] passes: no factor must enroll, a factor lets the member in, the enrollment page is served', async () => {
    const verdict = await check('org-mfa-enrollment');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toContain('/account/two-factor/required');
  });

  it('[A6] fails when a member without a factor would count as two-factor', async () => {
    const decide = () => true;
    expect((await orgEnrollmentCheck({ ...deps(), decide }).run(probe)).detail).toBe(
      'a member with no factor is counted as two-factor',
    );
  });

  it('[A6] fails when the refusal sends members to a page this instance does not serve', async () => {
    const errors = defineErrors({
      mfa_required: { status: 403, message: 'm', description: 'd', redirectTo: '/account/nowhere' },
    });
    const features = [defineFeature({ name: 'orgs', title: 'Organizations', errors })];
    const verdict = await orgEnrollmentCheck({ ...deps(), features }).run(probe);
    expect(verdict).toEqual({ status: 'failing', detail: expect.stringContaining('/account/nowhere answered 404') });
    const none = await orgEnrollmentCheck({ ...deps(), features: [] }).run(probe);
    expect(none.detail).toContain('names no enrollment page');
  });
});

describe('security score check (A9)', () => {
  it('[A9] passes: 75, 90 and 100 by the rule, with the steps that raise it', async () => {
    const verdict = await check('security-score');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toContain('75 without a second factor');
  });

  it('[A9] fails when a second factor with an old password scores 100, or a step is missing', async () => {
    const mfa = ctx().use('mfa');
    const clock = platform().clock;
    const generous = securityScoreCheck({
      clock,
      scoreOf: (f) => {
        const s = mfa.scoreOf(f);
        return s.score === 90 ? { score: 100, steps: [] } : s;
      },
    });
    expect((await generous.run(probe)).detail).toBe(
      'an account with an authenticator app, an old password scores 100, not 90',
    );
    const silent = securityScoreCheck({ clock, scoreOf: (f) => ({ ...mfa.scoreOf(f), steps: [] }) });
    expect((await silent.run(probe)).detail).toContain('is shown 0 steps to raise it, not 2');
  });
});

import { CompiledQuery } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { trustTestApp } from '../../test/helpers/trust.js';
import type { FeatureContext } from '../feature.js';
import { createDeviceTokens } from '../platform/crypto/device-tokens.js';
import { requireSession, type SessionOps } from '../sessions/index.js';
import { injectProbe } from '../trust/probe.js';
import type { IdentityDeps } from './deps.js';
import { IDENTITY_LIMIT_RULES, identityLimits } from './limits.js';
import { LINK_LIFETIMES } from './links.js';
import { identityTrustChecks } from './trust-checks.js';

const HOUR_MS = 60 * 60 * 1000;

const healthy = await trustTestApp();
const longLinks = await trustTestApp(
  {},
  { overrides: { identityLinkLifetimes: { magic_link: 2 * HOUR_MS, password_reset: 2 * HOUR_MS } } },
);
const looseSignIn = await trustTestApp(
  {},
  {
    overrides: { identityLimitRules: { signInByIp: { points: 1000, durationSec: 15 * 60 } } },
  },
);
const lockout = await trustTestApp(
  {},
  {
    overrides: {
      identityLimitRules: { passwordBackoff: { ...IDENTITY_LIMIT_RULES.passwordBackoff, maxDelaySec: 7 * 24 * 3600 } },
    },
  },
);
const preVerified = await trustTestApp();

const probeUsers = async (t: typeof healthy.t) =>
  Number(
    (
      await t.db.owner.executeQuery<{ n: string }>(
        CompiledQuery.raw(`select count(*) as n from users where email like 'trust-probe-%'`),
      )
    ).rows[0]!.n,
  );

/** The deps identity is built with, as index.ts builds them, for a check run with another gate. */
function depsOf(ctx: FeatureContext): IdentityDeps {
  const p = ctx.platform;
  return {
    db: p.db,
    sessions: ctx.use('sessions'),
    hasher: p.hasher,
    mailer: p.mailer,
    limits: identityLimits(p.limits),
    linkLifetimes: LINK_LIFETIMES,
    devices: createDeviceTokens(p.subkey('rampart device v1')),
    background: p.background,
    clock: p.clock,
    baseUrl: p.config.baseUrl,
    requireRecentAuth: ctx.use('mfa').requireRecent,
  };
}

describe('identity trust checks (X8)', () => {
  it('[A1] [A2] [A3] [A8] pass on the default app, leave no account behind and can run again', async () => {
    for (let round = 0; round < 2; round++) {
      for (const id of ['email-verification-gate', 'magic-link-single-use', 'password-reset-single-use']) {
        expect(await healthy.check(id), id).toMatchObject({ status: 'passing' });
      }
      expect(await healthy.check('identity-rate-limits')).toMatchObject({ status: 'passing' });
    }
    expect(await healthy.check('magic-link-single-use')).toMatchObject({ detail: expect.stringContaining('15 min') });
    expect(await healthy.check('password-reset-single-use')).toMatchObject({
      detail: expect.stringContaining('60 min'),
    });
    expect(await probeUsers(healthy.t)).toBe(0);
    expect(await healthy.t.mailbox.list(10)).toEqual([]);
  });

  it('[A1] the verification check fails when the account gate lets an unverified session through', async () => {
    const ctx = healthy.ctx();
    const check = identityTrustChecks({ deps: depsOf(ctx), gate: requireSession }).find(
      (c) => c.id === 'email-verification-gate',
    )!;
    expect(await check.run(injectProbe(healthy.t.app))).toMatchObject({
      status: 'failing',
      detail: expect.stringContaining('unverified account'),
    });
  });

  it('[A1] the verification check fails when new accounts start verified', async () => {
    await preVerified.t.db.owner.executeQuery(
      CompiledQuery.raw('alter table users alter column email_verified_at set default now()'),
    );
    expect(await preVerified.check('email-verification-gate')).toEqual({
      status: 'failing',
      detail: 'a new account starts with its address verified',
    });
    expect(await probeUsers(preVerified.t)).toBe(0);
  });

  it('[A2] the magic-link check fails when links live 2 h', async () => {
    expect(await longLinks.check('magic-link-single-use')).toEqual({
      status: 'failing',
      detail: 'magic links live 2 h, more than 15 min',
    });
  });

  it('[A3] the reset check fails when links live 2 h', async () => {
    expect(await longLinks.check('password-reset-single-use')).toEqual({
      status: 'failing',
      detail: 'reset links live 2 h, more than 60 min',
    });
  });

  it('[A3] the reset check fails when a reset leaves the other sessions signed in', async () => {
    const sessions = healthy.ctx().use('sessions');
    const write = sessions.write.bind(sessions);
    const spy = vi.spyOn(sessions, 'write').mockImplementation((fn) =>
      write((tx, ops) => {
        const revoke: SessionOps['revoke'] = (where, reason) =>
          reason === 'password_reset' ? Promise.resolve(0) : ops.revoke(where, reason);
        return fn(tx, { ...ops, revoke });
      }),
    );
    try {
      expect(await healthy.check('password-reset-single-use')).toEqual({
        status: 'failing',
        detail: "a reset ended 0 of the account's 2 sessions; 2 other(s) stayed live",
      });
    } finally {
      spy.mockRestore();
    }
  });

  it('[A8] the limit check fails when sign-in allows 1000 attempts per IP', async () => {
    expect(await looseSignIn.check('identity-rate-limits')).toEqual({
      status: 'failing',
      detail: 'sign-in per IP allows 1000 per 15 min (more than 100)',
    });
  });

  it('[A8] the limit check fails when password guesses can block an account for a week', async () => {
    expect(await lockout.check('identity-rate-limits')).toEqual({
      status: 'failing',
      detail: 'password guesses can block an account for 168 h',
    });
  });
});

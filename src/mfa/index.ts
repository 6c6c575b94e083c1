import { defineFeature } from '../feature.js';
import { MFA_ERRORS } from './errors.js';
import { mfaApiRoutes } from './api.js';
import { MFA_AUDIT_ACTIONS } from './audit-actions.js';
import { passkeyScriptRoute } from './client-bundle.js';
import { userHasSecondFactor } from './factors.js';
import { mfaLimits } from './limits.js';
import { createPasskeyService, type PasskeyService } from './passkeys.js';
import { mfaPageRoutes } from './routes.js';
import { createMfaService, type MfaService } from './service.js';
import { totpSecrets } from './sealed-values.js';
import {
  orgEnrollmentCheck,
  passkeySettingsCheck,
  recoveryCodesCheck,
  securityScoreCheck,
  totpCheck,
} from './trust-checks.js';

declare module '../feature.js' {
  interface Services {
    mfa: MfaService;
    passkeys: PasskeyService;
  }
}

/** A4, A5, A6, A9, S2: authenticator apps, recovery codes, passkeys, the second factor and step-up. */
export const mfaFeature = defineFeature({
  name: 'mfa',
  sealedValues: [totpSecrets],
  title: 'Two-factor sign-in and step-up',
  errors: MFA_ERRORS,
  auditActions: MFA_AUDIT_ACTIONS,
  setup({ platform: p, use, provide }) {
    const sessions = use('sessions');
    sessions.useSecondFactorCheck(userHasSecondFactor);
    const limits = mfaLimits(p.limits);
    const onMailError = (err: unknown) => p.logger.error({ err }, 'mail could not be sent');
    const mfa = createMfaService({
      db: p.db,
      sessions,
      keyring: p.keyring,
      hasher: p.hasher,
      mailer: p.mailer,
      limits,
      clock: p.clock,
      baseUrl: p.config.baseUrl,
      onMailError,
    });
    provide('mfa', mfa);
    provide(
      'passkeys',
      createPasskeyService({ db: p.db, sessions, mfa, limits, clock: p.clock, baseUrl: p.config.baseUrl }),
    );
  },
  trustChecks: ({ platform: p, use, features }) => [
    totpCheck({ clock: p.clock }),
    recoveryCodesCheck({ db: p.db }),
    passkeySettingsCheck({ passkeys: use('passkeys'), baseUrl: p.config.baseUrl }),
    orgEnrollmentCheck({ features }),
    securityScoreCheck({ clock: p.clock, scoreOf: use('mfa').scoreOf }),
  ],
  routes(app, { use }) {
    const orgs = use('orgs');
    const orgsRequiringMfa = async (userId: string) =>
      (await orgs.listMine(userId)).filter((o) => o.requireMfa).map((o) => o.name);
    mfaPageRoutes(app, use('mfa'), use('passkeys'), orgsRequiringMfa);
    mfaApiRoutes(app, use('mfa'), use('passkeys'));
    passkeyScriptRoute(app);
  },
});

export { PASSKEY_SCRIPT } from './client-bundle.js';
export { type FactorState, hasSecondFactor } from './factors.js';
export { factorsOf } from './repository.js';
export { PasswordlessSignIn, ScoreSection, TwoFactorSection } from './pages.js';
export type { Passkey, PasskeyService } from './passkeys.js';
export { type SecurityScore, securityScore } from './score.js';
export { type MfaService, STEP_UP_WINDOW_MS } from './service.js';

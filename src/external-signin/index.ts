import type * as oidc from 'openid-client';
import { defineFeature } from '../feature.js';
import { EXTERNAL_SIGNIN_AUDIT_ACTIONS } from './audit-actions.js';
import { upstreamChecks } from './checks.js';
import { EXTERNAL_SIGNIN_ERRORS } from './errors.js';
import { createUpstreamRegistry } from './providers.js';
import { externalSignInRoutes } from './routes.js';
import { createExternalSignInService, type ExternalSignInService } from './service.js';
import { signinFlowVerifiers, upstreamClientSecrets } from './sealed-values.js';

declare module '../feature.js' {
  interface Services {
    externalSignIn: ExternalSignInService;
  }
  interface Overrides {
    /** How Rampart reaches upstream providers (tests: one trusting their test certificate authority). */
    upstreamFetch?: oidc.CustomFetch;
  }
}

const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** A7: sign-in through upstream OpenID providers, and the accounts linked to them. */
export const externalSignInFeature = defineFeature({
  name: 'external-signin',
  sealedValues: [upstreamClientSecrets, signinFlowVerifiers],
  title: 'Sign-in through other providers (OpenID Connect)',
  errors: EXTERNAL_SIGNIN_ERRORS,
  auditActions: EXTERNAL_SIGNIN_AUDIT_ACTIONS,
  setup({ platform: p, use, provide }) {
    const identity = use('identity');
    const service = createExternalSignInService({
      db: p.db,
      keyring: p.keyring,
      clock: p.clock,
      limits: p.limits,
      upstreams: createUpstreamRegistry({ db: p.db, keyring: p.keyring, clock: p.clock, dev: p.config.dev }),
      identity,
      mfa: use('mfa'),
      baseUrl: p.config.baseUrl,
      dev: p.config.dev,
      logger: p.logger,
      fetch: p.overrides.upstreamFetch,
    });
    identity.addSignInOptions(() => service.options());
    const timer = setInterval(() => {
      service.sweep().catch((err) => p.logger.error({ err }, 'deleting expired external sign-ins failed'));
    }, SWEEP_EVERY_MS);
    timer.unref();
    p.onClose(() => clearInterval(timer));
    provide('externalSignIn', service);
  },
  trustChecks: ({ platform: p }) =>
    upstreamChecks(
      createUpstreamRegistry({ db: p.db, keyring: p.keyring, clock: p.clock, dev: p.config.dev }),
      p.config.dev,
    ),
  routes(app, { use }) {
    externalSignInRoutes(app, use('externalSignIn'));
  },
});

export { upstreamCommands } from './commands.js';
export { LinkedAccountsSection } from './pages.js';
export type { ExternalSignInService, LinkedIdentity } from './service.js';

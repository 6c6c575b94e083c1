import { defineFeature, type Platform } from '../feature.js';
import { IDENTITY_ERRORS } from './errors.js';
import { createDeviceTokens } from '../platform/crypto/device-tokens.js';
import { identityApiRoutes } from './api.js';
import { IDENTITY_AUDIT_ACTIONS } from './audit-actions.js';
import type { IdentityDeps } from './deps.js';
import { IDENTITY_LIMIT_RULES, type IdentityLimitRules, identityLimits } from './limits.js';
import type { LinkLifetimes } from './deps.js';
import { LINK_LIFETIMES } from './links.js';
import { identityPageRoutes } from './routes.js';
import { requireUser } from '../sessions/index.js';
import { createIdentityService, type IdentityService } from './service.js';
import { identityTrustChecks } from './trust-checks.js';

declare module '../feature.js' {
  interface Services {
    identity: IdentityService;
  }
  interface Overrides {
    identityLinkLifetimes?: Partial<LinkLifetimes>;
    identityLimitRules?: Partial<IdentityLimitRules>;
  }
}

/** The deps each app's identity service was built with: its live checks probe the same limiters. */
const built = new WeakMap<Platform, IdentityDeps>();

/** A1-A3, A8: accounts, passwords, verified addresses, mailed links, and their limits. */
export const identityFeature = defineFeature({
  name: 'identity',
  title: 'Identity',
  errors: IDENTITY_ERRORS,
  auditActions: IDENTITY_AUDIT_ACTIONS,
  setup({ platform: p, use, provide }) {
    const deps: IdentityDeps = {
      db: p.db,
      sessions: use('sessions'),
      hasher: p.hasher,
      mailer: p.mailer,
      limits: identityLimits(p.limits, { ...IDENTITY_LIMIT_RULES, ...p.overrides.identityLimitRules }),
      linkLifetimes: { ...LINK_LIFETIMES, ...p.overrides.identityLinkLifetimes },
      devices: createDeviceTokens(p.subkey('rampart device v1')),
      background: p.background,
      clock: p.clock,
      baseUrl: p.config.baseUrl,
      requireRecentAuth: use('mfa').requireRecent,
    };
    built.set(p, deps);
    provide('identity', createIdentityService(deps));
  },
  trustChecks({ platform: p }) {
    const deps = built.get(p);
    return deps ? identityTrustChecks({ deps, gate: requireUser }) : [];
  },
  routes(app, { use }) {
    identityPageRoutes(app, use('identity'));
    identityApiRoutes(app, use('identity'));
  },
});

export type {
  ExternalAccount,
  IdentityService,
  SignedIn,
  SignInOption,
  SignInOptionSource,
  Within,
} from './service.js';

import { defineFeature } from '../feature.js';
import { IDENTITY_ERRORS } from './errors.js';
import { createDeviceTokens } from '../platform/crypto/device-tokens.js';
import { identityApiRoutes } from './api.js';
import { IDENTITY_AUDIT_ACTIONS } from './audit-actions.js';
import type { IdentityDeps } from './deps.js';
import { IDENTITY_LIMIT_RULES, type IdentityLimitRules, identityLimits } from './limits.js';
import { LINK_LIFETIMES, type LinkLifetimes } from './links.js';
import { identityPageRoutes } from './routes.js';
import { createIdentityService, type IdentityService } from './service.js';

declare module '../feature.js' {
  interface Services {
    identity: IdentityService;
  }
  interface Overrides {
    identityLinkLifetimes?: Partial<LinkLifetimes>;
    identityLimitRules?: Partial<IdentityLimitRules>;
  }
}

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
    provide('identity', createIdentityService(deps));
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

import { defineFeature } from '../feature.js';
import { ORG_ERRORS } from './errors.js';
import { orgApiRoutes } from './api.js';
import { createApiKeyService, type ApiKeyService } from './api-keys.js';
import { ORG_AUDIT_ACTIONS } from './audit-actions.js';
import { apiKeyLoading } from './http.js';
import { ORG_PERMISSIONS } from './permissions.js';
import { reviewPageRoutes } from './review-page.js';
import { reviewApiRoutes } from './reviews-api.js';
import { createAccessReviews } from './reviews.js';
import { orgTrustChecks } from './trust-checks.js';
import { orgPageRoutes } from './routes.js';
import { createOrgService, type OrgService } from './service.js';

declare module '../feature.js' {
  interface Services {
    orgs: OrgService;
    apiKeys: ApiKeyService;
  }
}

/** O1-O6: organizations, roles, invitations, the MFA policy, organization API keys and access reviews. */
export const orgsFeature = defineFeature({
  name: 'orgs',
  title: 'Organizations',
  errors: ORG_ERRORS,
  permissions: ORG_PERMISSIONS,
  auditActions: ORG_AUDIT_ACTIONS,
  orgTabs: [
    { path: '', label: 'Settings', permission: 'org.read' },
    { path: '/members', label: 'Members', permission: 'members.read' },
    { path: '/invitations', label: 'Invitations', permission: 'invitations.read' },
    { path: '/api-keys', label: 'API keys', permission: 'api_keys.read' },
    { path: '/review', label: 'Access review', permission: 'reviews.read' },
  ],
  setup({ platform: p, use, provide }) {
    const sessions = use('sessions');
    const onError = (err: unknown) => p.logger.error({ err }, 'api key events subscription failed; retrying');
    // The two refer to each other: nothing revokes keys before both exist.
    const orgs = createOrgService({
      db: p.db,
      rotateSessionsOf: sessions.rotateLater,
      forgetApiKeys: (ids) => apiKeys.forget(ids),
      bus: p.bus,
      onCacheError: (err) => p.logger.error({ err }, 'membership events subscription failed; retrying'),
      clock: p.clock,
      mailer: p.mailer,
      baseUrl: p.config.baseUrl,
      onMailError: (err) => p.logger.error({ err }, 'mail could not be sent'),
    });
    const apiKeys = createApiKeyService({ db: p.db, bus: p.bus, clock: p.clock, orgs, onError });
    p.onClose(() => apiKeys.close());
    p.onClose(() => orgs.close());
    provide('orgs', orgs);
    provide('apiKeys', apiKeys);
  },
  trustChecks: orgTrustChecks,
  hooks(app, { platform: p, use }) {
    apiKeyLoading(app, use('apiKeys'), p.limits, p.config.apiKeyRatePerMinute);
  },
  routes(app, { platform: p, use, features }) {
    const tabs = features.flatMap((f) => f.orgTabs ?? []);
    orgApiRoutes(app, use('orgs'), use('sessions'), use('apiKeys'));
    orgPageRoutes(app, use('orgs'), use('apiKeys'), use('sessions'), tabs);
    const reviews = createAccessReviews({ orgs: use('orgs'), clock: p.clock });
    reviewApiRoutes(app, reviews);
    reviewPageRoutes(app, reviews, use('orgs'), () => p.clock.now());
  },
});

export { actorOf, personOf, requireUserOrKey } from './http.js';
export { orgOwnersForOperator } from './operator-lookup.js';
export {
  can,
  definePermissions,
  HELD_BY,
  isPermission,
  type Permission,
  permissions,
  RANK,
  ROLES,
  type Role,
} from './permissions.js';
export { type Actor, actorRef, type Org, type OrgService } from './service.js';
export { OrgHeader } from './page-parts.js';

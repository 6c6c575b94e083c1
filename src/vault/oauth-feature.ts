import type { FastifyInstance } from 'fastify';
import type { FeatureContext, Platform } from '../feature.js';
import { createOauthConnections, type OauthConnections, oauthHooks } from './oauth.js';
import { oauthTrustChecks } from './oauth-checks.js';
import { vaultOauthRoutes } from './oauth-routes.js';

declare module '../feature.js' {
  interface Services {
    vaultOauth: OauthConnections;
  }
}

/** How the vault reaches providers, for keys and OAuth alike: the operator's CA file, tests' CA and resolver. */
export const vaultOutboundPolicy = (p: Platform) => ({
  ...(p.config.outboundCa ? { ca: p.config.outboundCa } : {}),
  ...p.overrides.vaultOutbound,
});

export const OAUTH_REFRESH_JOB = 'vault.oauth-refresh';
const REFRESH_EVERY_MS = 5 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** Builds the service, its refresh job and sweep; provides it as 'vaultOauth' (the vault feature calls this). */
export function setupVaultOauth({ platform: p, use, provide }: FeatureContext): OauthConnections {
  const service = createOauthConnections({
    db: p.db,
    keyring: p.keyring,
    clock: p.clock,
    orgs: use('orgs'),
    mailer: p.mailer,
    logger: p.logger,
    baseUrl: p.config.baseUrl,
    dev: p.config.dev,
    outbound: vaultOutboundPolicy(p),
    background: p.background,
  });
  p.schedule.every(OAUTH_REFRESH_JOB, REFRESH_EVERY_MS, async () => {
    await service.refreshDue();
  });
  p.schedule.every('vault.oauth-sweep', SWEEP_EVERY_MS, () => service.sweep());
  provide('vaultOauth', service);
  return service;
}

export function vaultOauthFeatureRoutes(app: FastifyInstance, { use }: FeatureContext): void {
  vaultOauthRoutes(app, use('vaultOauth'));
}

export function vaultOauthTrustChecks({ platform: p, use }: FeatureContext) {
  return oauthTrustChecks({ db: p.db, dev: p.config.dev, service: use('vaultOauth') });
}

/** The hooks the vault's useCredential and delete call for kind 'oauth'. */
export const vaultOauthHooks = (ctx: FeatureContext) => oauthHooks(ctx.use('vaultOauth'));

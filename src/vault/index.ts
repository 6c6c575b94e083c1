import { defineFeature, type SealedValues } from '../feature.js';
import { operatorProviderRoutes } from './operator-api.js';
import { vaultApiRoutes } from './api.js';
import { VAULT_AUDIT_ACTIONS } from './audit-actions.js';
import { vaultTrustChecks } from './checks.js';
import { VAULT_ERRORS } from './errors.js';
import {
  setupVaultOauth,
  vaultOauthFeatureRoutes,
  vaultOauthHooks,
  vaultOauthTrustChecks,
  vaultOutboundPolicy,
} from './oauth-feature.js';
import { VAULT_PERMISSIONS } from './permissions.js';
import { createProviderRegistry, type ProviderRegistry } from './providers.js';
import { vaultPageRoutes } from './routes.js';
import { orgKeyContext, providerSecretContext } from './sealing.js';
import { createVaultService, type VaultService } from './service.js';
import type { OutboundPolicy } from '../platform/outbound-fetch.js';

declare module '../feature.js' {
  interface Services {
    vault: VaultService & { providers: ProviderRegistry };
  }
  interface Overrides {
    /** The outbound fetch of connections: tests give their own CA and resolver. */
    vaultOutbound?: Partial<OutboundPolicy>;
    /** Requests through connections per organization and minute (default 600). */
    vaultRequestsPerMinute?: number;
  }
}

const RECHECK_EVERY_MS = 6 * 60 * 60 * 1000;

/** D3: what the vault keeps sealed under the master keyring directly (the secrets are under the org keys). */
const SEALED: readonly SealedValues[] = [
  {
    name: 'vault.org_key',
    async page(tx, after, limit) {
      const rows = await tx
        .selectFrom('org_keys')
        .select(['org_id', 'kek_sealed'])
        .where('kek_sealed', 'is not', null)
        .$if(after !== undefined, (q) => q.where('org_id', '>', after!))
        .orderBy('org_id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ key: r.org_id, sealed: r.kek_sealed!, context: orgKeyContext(r.org_id) }));
    },
    async replace(tx, key, previous, next) {
      const r = await tx
        .updateTable('org_keys')
        .set({ kek_sealed: next })
        .where('org_id', '=', key)
        .where('kek_sealed', '=', previous)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  },
  {
    name: 'vault.provider_client_secret',
    async page(tx, after, limit) {
      const rows = await tx
        .selectFrom('vault_providers')
        .select(['id', 'oauth_client_secret_sealed'])
        .where('oauth_client_secret_sealed', 'is not', null)
        .$if(after !== undefined, (q) => q.where('id', '>', after!))
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        key: r.id,
        sealed: r.oauth_client_secret_sealed!,
        context: providerSecretContext(r.id),
      }));
    },
    async replace(tx, key, previous, next) {
      const r = await tx
        .updateTable('vault_providers')
        .set({ oauth_client_secret_sealed: next })
        .where('id', '=', key)
        .where('oauth_client_secret_sealed', '=', previous)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  },
];

/** D1, T3, L1 (issue 15): customers' third-party credentials, sealed per organization, sent only to their provider. */
export const vaultFeature = defineFeature({
  name: 'vault',
  title: 'Credential vault',
  errors: VAULT_ERRORS,
  permissions: VAULT_PERMISSIONS,
  auditActions: VAULT_AUDIT_ACTIONS,
  orgTabs: [{ path: '/connections', label: 'Connections', permission: 'connections.read' }],
  operatorPages: [{ path: '/operator/connections', label: 'Connection providers' }],
  sealedValues: SEALED,
  setup(ctx) {
    const { platform: p, use, provide } = ctx;
    setupVaultOauth(ctx);
    const providers = createProviderRegistry({ db: p.db, keyring: p.keyring, clock: p.clock, dev: p.config.dev });
    const vault = createVaultService({
      db: p.db,
      keyring: p.keyring,
      clock: p.clock,
      orgs: use('orgs'),
      providers,
      mailer: p.mailer,
      logger: p.logger,
      baseUrl: p.config.baseUrl,
      dev: p.config.dev,
      outbound: vaultOutboundPolicy(p),
      limits: p.limits,
      requestsPerMinute: p.overrides.vaultRequestsPerMinute ?? 600,
      ...vaultOauthHooks(ctx),
    });
    p.schedule.every('vault.recheck', RECHECK_EVERY_MS, async () => {
      await vault.recheckAll();
    });
    provide('vault', Object.assign(vault, { providers }));
  },
  routes(app, ctx) {
    const { use, features } = ctx;
    vaultOauthFeatureRoutes(app, ctx);
    const vault = use('vault');
    const orgs = use('orgs');
    const operator = use('operator');
    vaultApiRoutes(app, {
      vault,
      orgs,
      oidc: use('oidc'),
    });
    operatorProviderRoutes(app, { operator, providers: vault.providers });
    vaultPageRoutes(app, {
      vault,
      orgs,
      operator,
      tabs: features.flatMap((f) => f.orgTabs ?? []),
    });
  },
  trustChecks(ctx) {
    const { platform: p, use } = ctx;
    return [
      ...vaultTrustChecks({ db: p.db, keyring: p.keyring, dev: p.config.dev, providers: use('vault').providers }),
      ...vaultOauthTrustChecks(ctx),
    ];
  },
});

export type { VaultService } from './service.js';
export type { ProviderRegistry, ProviderView } from './providers.js';
export { providerCommands } from './commands.js';

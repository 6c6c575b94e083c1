import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import { defineFeature } from '../feature.js';
import { OIDC_AUDIT_ACTIONS } from './audit-actions.js';
import { createAccessTokens } from './access-tokens.js';
import { clientAuthLimit } from './client-auth-limit.js';
import { jwksRoute, mountProvider, providerHandler } from './bridge.js';
import { createClaims } from './claims.js';
import { backchannelCheck, oidcChecks } from './checks.js';
import { type ClientRegistry, createClientRegistry } from './clients.js';
import { OIDC_ERRORS } from './errors.js';
import { interactionRoutes } from './interaction.js';
import { tokenEndpoints } from './introspection.js';
import { createProvider, loadProviderLibrary } from './provider.js';
import { providerPages } from './provider-pages.js';
import { createSigningKeys, type SigningKeys } from './signing-keys.js';
import { sweepExpired } from './adapter.js';
import { createTokenEvents } from './token-events.js';
import { createDeliveries, type Deliveries } from './deliveries.js';
import { operatorClientRoutes } from './operator-api.js';
import { type ActiveAccessToken, createTokenVerifier } from './token-verifier.js';
import { signingKeySecrets } from './sealed-values.js';

declare module '../feature.js' {
  interface Services {
    oidc: OidcService;
  }
  interface Overrides {
    /** How often each instance looks at the signing keys again (default: a minute). */
    oidcMaintenanceEveryMs?: number;
    /** Back-channel logout retries wait 4x and 16x this (default 200 ms). */
    oidcBackchannelRetryBaseMs?: number;
  }
}

export interface OidcService {
  clients: ClientRegistry;
  signingKeys: SigningKeys;
  /** How back-channel logout deliveries ended (A10/S3), for the operator. */
  deliveries: Deliveries;
  /** The provider as it is now (rebuilt when the signing keys change). */
  provider(): Provider;
  /** The public keys the JWKS document lists now. */
  publishedKeys(): readonly JWK[];
  /**
   * Looks at the signing keys again (every instance does each minute): a key whose time has come
   * starts signing here, without a restart. Also deletes expired provider artifacts and access-token
   * rows, and back-channel delivery records older than 30 days.
   */
  maintain(): Promise<void>;
  /** A Rampart access token that introspection would call active (the vault's requests take one). */
  activeAccessToken(token: string): Promise<ActiveAccessToken | undefined>;
}

const MAINTENANCE_EVERY_MS = 60_000;

/** A10: Rampart as the OpenID provider of the products in front of it. */
export const oidcFeature = defineFeature({
  name: 'oidc',
  sealedValues: [signingKeySecrets],
  title: 'Sign-in for products (OpenID Connect)',
  errors: OIDC_ERRORS,
  auditActions: OIDC_AUDIT_ACTIONS,
  async setup({ platform: p, use, provide }) {
    const sessions = use('sessions');
    const clients = createClientRegistry({
      db: p.db,
      clock: p.clock,
      secretKey: p.subkey('rampart oidc client secret stand-in v1'),
      dev: p.config.dev,
    });
    const signingKeys = createSigningKeys({ db: p.db, keyring: p.keyring, clock: p.clock });
    const claims = createClaims({ db: p.db, sessions, orgs: use('orgs') });
    const accessTokens = createAccessTokens({ db: p.db, clock: p.clock });
    const issuer = p.config.baseUrl.replace(/\/$/, '');
    let current: Provider;
    let published: readonly JWK[] = [];
    const deliveries = createDeliveries({ db: p.db, clock: p.clock });
    const events = createTokenEvents({
      db: p.db,
      clock: p.clock,
      sessions,
      mailer: p.mailer,
      background: p.background,
      logger: p.logger,
      baseUrl: p.config.baseUrl,
      provider: () => current,
      deliveries,
      retryBaseMs: p.overrides.oidcBackchannelRetryBaseMs ?? 200,
    });

    let signingKid: string | undefined;
    const build = async () => {
      const lib = await loadProviderLibrary(p.logger);
      const keys = await signingKeys.current();
      published = keys.published;
      signingKid = keys.signing.kid;
      const provider = createProvider(lib, {
        issuer,
        db: p.db,
        clock: p.clock,
        clients,
        claims,
        keys,
        cookieKeys: [p.subkey('rampart oidc cookies v1').toString('base64url')],
        dev: p.config.dev,
        refreshTtlS: p.config.sessionMaxAgeDays * 24 * 60 * 60,
        onConcurrentReuse: (_model, grantId) => events.reuseDetected(grantId),
        onAccessToken: (token) => accessTokens.issued(token),
        renderError: providerPages.renderError,
        logoutSource: providerPages.logoutSource,
        postLogoutSource: providerPages.postLogoutSource,
      });
      events.listen(provider);
      return provider;
    };
    current = await build();
    sessions.onEnded((ended) => events.sessionsEnded(ended));
    const orgs = use('orgs');
    orgs.onMembershipChanged(async ({ orgId, userId }) => {
      // A policy change names no member: products hear of it, and the next sign-in meets the new rule.
      // (A deleted organization's grants are gone with it.)
      const stillMember = userId
        ? await orgs.roleIn(userId, orgId).then(
            () => true,
            () => false,
          )
        : true;
      await events.membershipChanged(orgId, userId, stillMember);
    });

    const maintain = async () => {
      const keys = await signingKeys.current();
      // A provider holds one signing key: a new one means a new provider (its state is all in the database).
      if (keys.signing.kid !== signingKid) current = await build();
      else published = keys.published;
      await sweepExpired(p.db, p.clock.now());
      await accessTokens.sweep();
      await deliveries.prune();
    };
    const timer = setInterval(() => {
      maintain().catch((err) => p.logger.error({ err }, 'OpenID provider maintenance failed; retrying in a minute'));
    }, p.overrides.oidcMaintenanceEveryMs ?? MAINTENANCE_EVERY_MS);
    timer.unref();
    p.onClose(() => clearInterval(timer));
    provide('oidc', {
      clients,
      signingKeys,
      deliveries,
      provider: () => current,
      publishedKeys: () => published,
      maintain,
      activeAccessToken: createTokenVerifier({
        issuer,
        db: p.db,
        clock: p.clock,
        claims,
        accessTokens,
        publishedKeys: () => published,
      }).active,
    });
  },
  trustChecks: ({ platform: p, use }) => [...oidcChecks(), backchannelCheck(use('oidc').clients, p.config.dev)],
  routes(app, { platform: p, use }) {
    const oidc = use('oidc');
    const forward = providerHandler(oidc.provider, oidc.clients, p.config.baseUrl);
    const authLimit = clientAuthLimit(p.limits);
    mountProvider(app, forward, authLimit);
    // Stateless over the database, like those setup() made: the same rows, the same rules.
    const sessions = use('sessions');
    tokenEndpoints(app, {
      issuer: p.config.baseUrl.replace(/\/$/, ''),
      db: p.db,
      clock: p.clock,
      clients: oidc.clients,
      claims: createClaims({ db: p.db, sessions, orgs: use('orgs') }),
      accessTokens: createAccessTokens({ db: p.db, clock: p.clock }),
      authLimit,
      publishedKeys: oidc.publishedKeys,
      forward,
    });
    jwksRoute(app, oidc.publishedKeys);
    interactionRoutes(app, {
      provider: oidc.provider,
      issuer: p.config.baseUrl.replace(/\/$/, ''),
      db: p.db,
      clock: p.clock,
      clients: oidc.clients,
      orgs: use('orgs'),
      mfa: use('mfa'),
    });
    operatorClientRoutes(app, {
      operator: use('operator'),
      clients: oidc.clients,
      deliveries: oidc.deliveries,
      clock: p.clock,
    });
  },
});

export type { ClientInput, ClientView } from './clients.js';
export type { ActiveAccessToken } from './token-verifier.js';
export { oidcCommands } from './commands.js';
export { ACR_TWO_FACTORS } from './provider.js';

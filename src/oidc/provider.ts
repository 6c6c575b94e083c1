import type { Logger } from 'pino';
import type Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { kyselyAdapter } from './adapter.js';
import type { ClientRegistry } from './clients.js';
import type { Claims } from './claims.js';
import type { IssuedAccessToken } from './access-tokens.js';
import type { KeySet } from './signing-keys.js';

/** Where oidc-provider's endpoints live; the interaction pages under INTERACTION_PATH are Rampart's own. */
export const OIDC_PREFIX = '/oidc';
export const INTERACTION_PATH = `${OIDC_PREFIX}/interaction`;
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** 15 minutes (A10). */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const ACR_ONE_FACTOR = 'urn:rampart:acr:pwd';
export const ACR_TWO_FACTORS = 'urn:rampart:acr:mfa';

/**
 * The scopes a product may ask for; `org` brings the organization, its role and permissions;
 * `connections` lets the product send requests through the organization's vault connections on the
 * person's behalf (their role must allow it), never seeing the keys.
 */
export const SCOPES = ['openid', 'email', 'org', 'connections', 'offline_access'] as const;

/** Every product's access tokens are JWTs for itself: audience = its client id (RFC 9068). */
export const resourceOf = (issuer: string, clientId: string) => `${issuer}${OIDC_PREFIX}/resource/${clientId}`;

export interface ProviderDeps {
  issuer: string;
  db: Tenancy;
  clock: Clock;
  clients: ClientRegistry;
  claims: Claims;
  keys: KeySet;
  /** Keys for oidc-provider's signed cookies (derived from the master key). */
  cookieKeys: string[];
  /**
   * Dev mode: oidc-provider refuses to connect to special-use addresses (SSRF protection); products
   * on loopback in development still get their back-channel logout, for registered URIs exactly.
   */
  dev: boolean;
  /** Absolute refresh token lifetime cap: the Rampart session's own maximum (S3). */
  refreshTtlS: number;
  onConcurrentReuse(model: string, grantId: string): Promise<void>;
  /** A JWT access token is being signed: recorded before it leaves (introspection, revocation; access-tokens.ts). */
  onAccessToken(token: IssuedAccessToken): Promise<void>;
  /** The page oidc-provider shows for an error it answers in the browser. */
  renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void;
  /** RP-initiated logout: the confirmation page (a form that posts to the provider) and the page after. */
  logoutSource(ctx: KoaContextWithOIDC, form: string): void;
  postLogoutSource(ctx: KoaContextWithOIDC): void;
}

type Library = typeof import('oidc-provider');
let library: Promise<Library> | undefined;

/**
 * oidc-provider, loaded on first use. Its import-time warnings (on Node 20: "Unsupported runtime")
 * go to the log instead of stderr, where the CLI's answers are.
 */
export function loadProviderLibrary(logger: Logger): Promise<Library> {
  library ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => logger.warn({ library: 'oidc-provider' }, args.map(String).join(' '));
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return library;
}

export function createProvider(lib: Library, deps: ProviderDeps): Provider {
  const { issuer, claims } = deps;
  const { errors, interactionPolicy } = lib;

  // Every authorization passes through Rampart's interaction: the provider's own session never
  // signs anyone in by itself, so a revoked Rampart session, a changed org MFA rule or a lost
  // membership is seen on every sign-in.
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(
      'rampart_session',
      'Rampart confirms every sign-in',
      (ctx) => !ctx.oidc.result?.login, // resuming after Rampart's own pages: confirmed
    ),
  );

  const configuration: Configuration = {
    adapter: kyselyAdapter({
      db: deps.db,
      clock: deps.clock,
      findClient: (id) => deps.clients.metadata(id),
      onConcurrentReuse: deps.onConcurrentReuse,
      invalidGrant: (message) => new errors.InvalidGrant(message),
    }),
    jwks: { keys: [deps.keys.signing] } as Configuration['jwks'],
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    routes: {
      authorization: `${OIDC_PREFIX}/auth`,
      end_session: `${OIDC_PREFIX}/session/end`,
      introspection: `${OIDC_PREFIX}/token/introspection`,
      jwks: `${OIDC_PREFIX}/jwks`,
      revocation: `${OIDC_PREFIX}/token/revocation`,
      token: `${OIDC_PREFIX}/token`,
      userinfo: `${OIDC_PREFIX}/me`,
      pushed_authorization_request: `${OIDC_PREFIX}/request`,
      backchannel_authentication: `${OIDC_PREFIX}/backchannel`,
      code_verification: `${OIDC_PREFIX}/device`,
      device_authorization: `${OIDC_PREFIX}/device/auth`,
      registration: `${OIDC_PREFIX}/reg`,
      challenge: `${OIDC_PREFIX}/challenge`,
      credential: `${OIDC_PREFIX}/credential`,
    },
    interactions: { policy, url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
    scopes: [...SCOPES],
    // How and when the person signed in belong in every ID token, not only when a client asks for them.
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      org: ['org_id', 'org_role', 'permissions'],
    },
    acrValues: [ACR_ONE_FACTOR, ACR_TWO_FACTORS],
    extraParams: ['org_id'],
    extraClientMetadata: {
      properties: ['first_party'],
      validator(_ctx, key, value) {
        if (key === 'first_party' && typeof value !== 'boolean') throw new errors.InvalidClientMetadata('first_party');
      },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256'],
      requestObjectSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
      introspectionSigningAlgValues: ['ES256'],
      authorizationSigningAlgValues: ['ES256'],
      clientAuthSigningAlgValues: ['ES256'],
    },
    clientAuthMethods: ['client_secret_basic', 'none'],
    features: {
      devInteractions: { enabled: false },
      // A client learns about its own tokens only; public clients (no secret) none (as for JWTs: introspection.ts).
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' && token.clientId === client.clientId,
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      claimsParameter: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => deps.logoutSource(ctx, form),
        postLogoutSuccessSource: async (ctx) => deps.postLogoutSource(ctx),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => resourceOf(issuer, client.clientId),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== resourceOf(issuer, client.clientId)) throw new errors.InvalidTarget();
          return {
            scope: 'openid email org connections',
            audience: client.clientId,
            accessTokenTTL: ACCESS_TOKEN_TTL_S,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // Refresh tokens for every product that may use them, not only with offline_access: they die
    // with the Rampart session in any case (S3).
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('openid'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: 60,
      IdToken: ACCESS_TOKEN_TTL_S,
      Interaction: 10 * 60,
      Session: deps.refreshTtlS,
      Grant: deps.refreshTtlS,
      RefreshToken: deps.refreshTtlS,
    },
    findAccount: async (ctx, sub, token) => {
      const grantId = token?.grantId ?? ctx.oidc.entities.Grant?.jti ?? ctx.oidc.result?.consent?.grantId;
      // Asked for outside any grant (the provider loading its own session): nothing to say but who it is.
      if (!grantId) return { accountId: sub, claims: async () => ({ sub }) };
      const account = await claims.account(sub, grantId, ctx);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.grantId || !token.accountId) return undefined;
      const extra = await claims.forAccessToken(token.accountId, token.grantId, ctx);
      if (!extra) throw new errors.InvalidGrant('the Rampart session behind this grant has ended');
      const { jti, grantId, clientId } = token;
      if (jti && clientId) await deps.onAccessToken({ jti, grantId, clientId, expiresInS: token.expiration });
      return extra;
    },
    fetch: async (url, options) => {
      const href = String(url);
      if (deps.dev && (await deps.clients.isBackchannelUri(href))) {
        const { dispatcher: _, ...rest } = options as RequestInit & { dispatcher?: unknown };
        return fetch(href, rest);
      }
      return fetch(href, options);
    },
    conformIdTokenClaims: true,
    renderError: async (ctx, out) => deps.renderError(ctx, out),
  };

  const provider = new lib.default(issuer, configuration);
  // The bridge sets X-Forwarded-Host and -Proto from the public URL on every request it hands over.
  provider.proxy = true;
  return provider;
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { ClientAuthLimit } from './client-auth-limit.js';
import type { ClientRegistry } from './clients.js';
import { DISCOVERY_PATH, OIDC_PREFIX } from './provider.js';

/** The endpoints where a client authenticates with its secret. */
const CLIENT_AUTH_PATHS = new Set([
  `${OIDC_PREFIX}/token`,
  `${OIDC_PREFIX}/token/introspection`,
  `${OIDC_PREFIX}/token/revocation`,
]);

/**
 * Hands a request to oidc-provider (a Koa app) on the raw Node objects. The headers Rampart set on
 * the reply so far (R2: CSP, anti-framing, no-store) are copied first, since a hijacked reply
 * skips Fastify's own sending; the provider adds its own on top.
 */
function handOver(reply: FastifyReply, run: () => void): void {
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
  }
  run();
}

export type ProviderHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Hands requests to the provider (introspection.ts hands it the ones it does not answer itself,
 * their body already read: the provider then reads it from `request.raw.body`).
 */
export function providerHandler(provider: () => Provider, clients: ClientRegistry, issuerUrl: string): ProviderHandler {
  const issuer = new URL(issuerUrl);
  let callbackOf: { provider: Provider; callback: ReturnType<Provider['callback']> } | undefined;
  const callback = () => {
    const p = provider();
    if (callbackOf?.provider !== p) callbackOf = { provider: p, callback: p.callback() };
    return callbackOf.callback;
  };
  return async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (CLIENT_AUTH_PATHS.has(path)) {
      const translated = await clients.translateBasicAuth(request.headers.authorization);
      if (translated !== undefined) request.raw.headers.authorization = translated;
    }
    // The provider builds its URLs (discovery, redirects) from the public URL, never from what the
    // request says its host is.
    request.raw.headers['x-forwarded-host'] = issuer.host;
    request.raw.headers['x-forwarded-proto'] = issuer.protocol.replace(':', '');
    // The provider trusts forwarded headers (it must, for the two above); the caller's own address
    // is Fastify's to decide (trusted proxies), never a header the caller sent.
    request.raw.headers['x-forwarded-for'] = request.ip;
    handOver(reply, () => callback()(request.raw, reply.raw));
  };
}

/**
 * Mounts the provider's endpoints. Their bodies stay unread, for the provider to parse (with its
 * own 56 KiB limit); they are exempt from Rampart's CSRF check because the protocol carries its own
 * protection (client authentication, PKCE, state, the provider's anti-forgery value on its logout
 * form) and is called cross-site by design.
 */
export function mountProvider(app: FastifyInstance, handler: ProviderHandler, authLimit: ClientAuthLimit): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const config = { csrfExempt: true as const };
    // R5 asks every route for a schema; these parameters are the provider's to validate (RFC 6749 errors).
    const schema = { hide: true, description: 'OpenID Connect endpoints: oidc-provider validates their parameters' };
    scope.route({ method: ['POST'], url: `${OIDC_PREFIX}/token`, handler, config, schema, onRequest: authLimit });
    scope.route({ method: ['GET', 'POST'], url: `${OIDC_PREFIX}/*`, handler, config, schema });
    scope.route({ method: ['GET'], url: DISCOVERY_PATH, handler, config, schema });
  });
}

/**
 * The JWKS document, served by Rampart rather than the provider: it lists every published key (the
 * next one before it signs, retired ones until their tokens have expired), while the provider holds
 * only the key that signs now.
 */
export function jwksRoute(app: FastifyInstance, published: () => readonly JWK[]): void {
  app.get(`${OIDC_PREFIX}/jwks`, { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.type('application/jwk-set+json; charset=utf-8');
    return JSON.stringify({ keys: published() });
  });
}

import { hkdfSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifySchema, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { isLoopbackUrl, type Config } from './config.js';
import { devRoutes } from './dev/routes.js';
import { docsRoutes } from './docs/routes.js';
import { homeRoutes } from './home/routes.js';
import { identityApiRoutes } from './identity/api.js';
import { identityLimits } from './identity/limits.js';
import { identityPageRoutes } from './identity/routes.js';
import { createIdentityService } from './identity/service.js';
import { createBackground } from './platform/background.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createDeviceTokens } from './platform/crypto/device-tokens.js';
import type { Keyring } from './platform/crypto/keyring.js';
import { createPasswordHasher, type PasswordHasher } from './platform/crypto/passwords.js';
import type { Database } from './platform/db/database.js';
import type { EventBus } from './platform/events/bus.js';
import { csrfProtection, PRE_SESSION_COOKIE } from './platform/http/csrf.js';
import { errorHandling } from './platform/http/errors.js';
import { inputKeywords } from './platform/http/schemas.js';
import type { Limits } from './platform/limits/limiter.js';
import { auditApiRoutes } from './audit/api.js';
import { auditPageRoutes } from './audit/routes.js';
import { createOrgAuditLog } from './audit/org-log.js';
import { createApiKeyService } from './orgs/api-keys.js';
import { reviewPageRoutes } from './orgs/review-page.js';
import { reviewApiRoutes } from './orgs/reviews-api.js';
import { createAccessReviews } from './orgs/reviews.js';
import { orgApiRoutes } from './orgs/api.js';
import { orgPageRoutes } from './orgs/routes.js';
import { apiKeyLoading } from './orgs/http.js';
import { createOrgService } from './orgs/service.js';
import { mfaApiRoutes } from './mfa/api.js';
import { userHasSecondFactor } from './mfa/factors.js';
import { passkeyScriptRoute } from './mfa/client-bundle.js';
import { mfaLimits } from './mfa/limits.js';
import { createPasskeyService } from './mfa/passkeys.js';
import { mfaPageRoutes } from './mfa/routes.js';
import { createMfaService } from './mfa/service.js';
import { createAccountSessions } from './account/sessions.js';
import { sessionApiRoutes } from './account/api.js';
import { SESSION_COOKIE, sessionLoading } from './sessions/http.js';
import { sessionPageRoutes } from './account/routes.js';
import { createSessionService, defaultSessionPolicy, type SessionPolicy } from './sessions/service.js';
import { healthRoutes } from './platform/http/health.js';
import { pageRendering } from './platform/http/render.js';
import { loopbackAliasRedirect } from './platform/http/loopback-alias.js';
import { securityHeaders } from './platform/http/security-headers.js';
import type { DevMailbox, Mailer } from './platform/mail/index.js';
import { publicDir } from './platform/paths.js';

export interface AppDeps {
  db: Database;
  keyring: Keyring;
  mailer: Mailer & { devMailbox?: DevMailbox };
  logger: Logger;
  limits: Limits;
  bus: EventBus;
  clock?: Clock;
  hasher?: PasswordHasher;
  sessionPolicy?: SessionPolicy;
  /** TLS options for an HTTPS server; absent means plain HTTP (local, or behind a TLS proxy). */
  https?: { cert: Buffer; key: Buffer };
}

export interface RouteEntry {
  method: string;
  url: string;
  /** The route's own schema (params, querystring, body): the input tests generate from it. */
  schema: FastifySchema;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route, as registered: tests walk it (schemas, CSRF, cross-tenant cases). */
    routeTable: RouteEntry[];
  }
}

/** Mozilla's "intermediate" TLS 1.2 suites; TLS 1.3 suites are Node's defaults (T1). */
export const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const BODY_LIMIT = 64 * 1024;

const picoDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@picocss/pico/package.json')), 'css');

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    loggerInstance: deps.logger,
    genReqId: () => randomUUID(),
    requestIdHeader: false, // a client must not choose the id that ties its request to our logs
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    bodyLimit: BODY_LIMIT,
    ajv: {
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
      plugins: [inputKeywords],
    },
  };
  const tls = deps.https && { https: { ...deps.https, minVersion: 'TLSv1.2' as const, ciphers: TLS_CIPHERS } };
  const app = Fastify({ ...options, ...tls } as FastifyServerOptions) as unknown as FastifyInstance;

  app.decorate('routeTable', [] as RouteEntry[]);
  app.addHook('onRoute', (route) => {
    // R5: a route without a schema does not start. Static file routes validate their own path.
    if (!route.schema) throw new Error(`route ${String(route.method)} ${route.url} has no schema`);
    for (const method of [route.method].flat()) app.routeTable.push({ method, url: route.url, schema: route.schema });
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  // Graceful shutdown: a keep-alive client whose request was in flight gets `Connection: close`,
  // so its socket ends with the response instead of holding close() for the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });

  const clock = deps.clock ?? systemClock;
  const sessions = createSessionService({
    db: deps.db,
    bus: deps.bus,
    clock,
    policy: deps.sessionPolicy ?? defaultSessionPolicy(config.sessionMaxAgeDays),
    onError: (err) => deps.logger.error({ err }, 'session events subscription failed; retrying'),
  });
  app.addHook('onClose', () => sessions.close());
  const hasher = deps.hasher ?? createPasswordHasher();
  const onMailError = (err: unknown) => deps.logger.error({ err }, 'mail could not be sent');
  const background = createBackground((err) => deps.logger.error({ err }, 'background work failed'));
  app.addHook('onClose', () => background.drain());
  sessions.useSecondFactorCheck(userHasSecondFactor);
  const limitsOfMfa = mfaLimits(deps.limits);
  const mfa = createMfaService({
    db: deps.db,
    sessions,
    keyring: deps.keyring,
    hasher,
    mailer: deps.mailer,
    limits: limitsOfMfa,
    clock,
    baseUrl: config.baseUrl,
    onMailError,
  });
  const passkeys = createPasskeyService({
    db: deps.db,
    sessions,
    mfa,
    limits: limitsOfMfa,
    clock,
    baseUrl: config.baseUrl,
  });
  const identity = createIdentityService({
    db: deps.db,
    sessions,
    hasher,
    mailer: deps.mailer,
    limits: identityLimits(deps.limits),
    devices: createDeviceTokens(subkey(deps.keyring, 'rampart device v1')),
    background,
    clock,
    baseUrl: config.baseUrl,
    requireRecentAuth: mfa.requireRecent,
  });
  const account = createAccountSessions({ db: deps.db, sessions, clock });
  // apiKeys is made next, from orgs; nothing revokes keys before both exist.
  const orgs = createOrgService({
    db: deps.db,
    rotateSessionsOf: sessions.rotateLater,
    forgetApiKeys: (ids) => apiKeys.forget(ids),
    clock,
    mailer: deps.mailer,
    baseUrl: config.baseUrl,
    onMailError,
  });
  const apiKeys = createApiKeyService({
    db: deps.db,
    bus: deps.bus,
    clock,
    orgs,
    onError: (err) => deps.logger.error({ err }, 'api key events subscription failed; retrying'),
  });
  app.addHook('onClose', () => apiKeys.close());
  const auditLog = createOrgAuditLog({ orgs, clock });
  const reviews = createAccessReviews({ orgs, clock });

  await securityHeaders(app, { baseUrl: config.baseUrl });
  // Dev on a loopback base URL: a browser at 127.0.0.1 or [::1] is sent to the base URL; the Origin check stays exact.
  if (config.dev && isLoopbackUrl(config.baseUrl)) loopbackAliasRedirect(app, { baseUrl: config.baseUrl });
  errorHandling(app);
  pageRendering(app, (request, reply) =>
    request.auth ? { email: request.auth.user.email, csrf: request.csrfToken(reply) } : undefined,
  );
  await app.register(swagger, {
    hideUntagged: true,
    openapi: {
      info: {
        title: 'Rampart API',
        version: '1',
        description:
          'Identity, sessions and the rest of Rampart. Browser clients authenticate with the session cookie and send X-CSRF-Token on state-changing requests.',
      },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
    },
  });
  await app.register(cookie);
  sessionLoading(app, sessions);
  apiKeyLoading(app, apiKeys, deps.limits, config.apiKeyRatePerMinute);
  csrfProtection(app, {
    key: subkey(deps.keyring, 'rampart csrf v1'),
    baseUrl: config.baseUrl,
    sessionBinding: (request) => (request.auth ?? request.pendingSignIn)?.session.id,
    hasOurCookie: (request) =>
      request.cookies[SESSION_COOKIE] !== undefined || request.cookies[PRE_SESSION_COOKIE] !== undefined,
  });
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/static/', schemaHide: true, index: false });
  await app.register(fastifyStatic, {
    root: picoDir,
    prefix: '/static/pico/',
    decorateReply: false,
    index: false,
    allowedPath: (file) => file === '/pico.min.css',
  });

  docsRoutes(app);
  healthRoutes(app, deps.db);
  homeRoutes(app, config);
  identityPageRoutes(app, identity);
  identityApiRoutes(app, identity);
  sessionPageRoutes(app, account, identity, mfa, passkeys);
  mfaPageRoutes(app, mfa, passkeys, async (userId) =>
    (await orgs.listMine(userId)).filter((o) => o.requireMfa).map((o) => o.name),
  );
  mfaApiRoutes(app, mfa, passkeys);
  passkeyScriptRoute(app);
  sessionApiRoutes(app, account, identity);
  orgApiRoutes(app, orgs, sessions, apiKeys);
  orgPageRoutes(app, orgs, apiKeys, sessions);
  auditApiRoutes(app, auditLog);
  reviewApiRoutes(app, reviews);
  auditPageRoutes(app, auditLog, orgs);
  reviewPageRoutes(app, reviews, orgs, () => clock.now());
  if (config.dev && deps.mailer.devMailbox) devRoutes(app, deps.mailer.devMailbox);
  return app;
}

/** A 256-bit key for one purpose, derived from the current master key. */
function subkey(keyring: Keyring, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', keyring.key(keyring.current), Buffer.alloc(0), info, 32));
}

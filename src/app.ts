import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifySchema, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { isLoopbackUrl, type Config } from './config.js';
import { createFeatureContext, type Feature, type Overrides, type Platform } from './feature.js';
import { FEATURES } from './features.js';
import { createBackground } from './platform/background.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { Keyring } from './platform/crypto/keyring.js';
import { createLiveKeyring, isLiveKeyring, type LiveKeyring } from './platform/crypto/live-keyring.js';
import { DEV_KEY_FILE } from './platform/crypto/master-key-file.js';
import { deriveSubkey, loadSubkeyRoot } from './platform/keys/subkey-root.js';
import { startKeyringSync } from './platform/keys/sync.js';
import { createPasswordHasher, type PasswordHasher } from './platform/crypto/passwords.js';
import type { Database } from './platform/db/database.js';
import type { EventBus } from './platform/events/bus.js';
import { errorHandling, frameworkErrors } from './platform/http/errors.js';
import { healthRoutes } from './platform/http/health.js';
import { loopbackAliasRedirect } from './platform/http/loopback-alias.js';
import { pageRendering } from './platform/http/render.js';
import { lazyCompilers } from './platform/http/lazy-compilers.js';
import { RequestLog } from './platform/logging.js';
import { createJobRunner, type JobRunner } from './platform/jobs/index.js';
import { inputKeywords } from './platform/http/schemas.js';
import { securityHeaders } from './platform/http/security-headers.js';
import type { Limits } from './platform/limits/limiter.js';
import type { DevMailbox, Mailer } from './platform/mail/index.js';
import { publicDir } from './platform/paths.js';
import { SESSION_COOKIE } from './sessions/index.js';

export interface AppDeps {
  db: Database;
  keyring: Keyring;
  mailer: Mailer & { devMailbox?: DevMailbox };
  logger: Logger;
  limits: Limits;
  bus: EventBus;
  clock?: Clock;
  hasher?: PasswordHasher;
  /** Settings tests give features in place of their defaults. */
  overrides?: Overrides;
  /**
   * Scheduled jobs (default: pg-boss on PostgreSQL, else this process's timers); tests give one without timers and
   * run jobs by name.
   */
  schedule?: JobRunner;
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

export async function buildApp(
  config: Config,
  deps: AppDeps,
  features: readonly Feature[] = FEATURES,
): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    loggerInstance: deps.logger,
    logController: new RequestLog(),
    genReqId: () => randomUUID(),
    requestIdHeader: false, // a client must not choose the id that ties its request to our logs
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    bodyLimit: BODY_LIMIT,
    frameworkErrors,
    schemaController: lazyCompilers,
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
  // Callback hooks on every request and response: no promise for work that never waits.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Graceful shutdown: a keep-alive client whose request was in flight gets `Connection: close`,
  // so its socket ends with the response instead of holding close() for the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('Connection', 'close');
    done(null, payload);
  });

  const clock = deps.clock ?? systemClock;
  const keyring = liveKeyringOf(config, deps.keyring, deps.logger);
  // D3: the keys and the deployment's decision first, then the subkey root they unseal.
  const keys = await startKeyringSync({ db: deps.db, keyring, bus: deps.bus, clock, logger: deps.logger });
  app.addHook('onClose', async () => keys.stop());
  const root = await loadSubkeyRoot(deps.db, keyring, clock.now());
  const platform: Platform = {
    config,
    db: deps.db,
    keyring,
    keys,
    mailer: deps.mailer,
    logger: deps.logger,
    limits: deps.limits,
    bus: deps.bus,
    clock,
    hasher: deps.hasher ?? createPasswordHasher(),
    background: createBackground((err) => deps.logger.error({ err }, 'background work failed')),
    schedule:
      deps.schedule ??
      createJobRunner({
        logger: deps.logger,
        db: deps.db,
        clock: deps.clock ?? systemClock,
        databaseUrl: config.databaseUrl,
        timers: true,
      }),
    subkey: (info) => deriveSubkey(root, info),
    onClose: (fn) => app.addHook('onClose', async () => fn()),
    overrides: deps.overrides ?? {},
  };
  platform.onClose(() => platform.background.drain());
  platform.onClose(() => platform.schedule.close());
  // Timers and workers start once every plugin has loaded: features define jobs in setup or in routes.
  app.addHook('onReady', () => platform.schedule.start());
  const ctx = createFeatureContext(platform, features);
  for (const feature of features) await feature.setup?.(ctx);

  securityHeaders(app, { baseUrl: config.baseUrl });
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
          'Identity, sessions and the rest of Rampart. Browser clients authenticate with the session cookie ' +
          'and send X-CSRF-Token on state-changing requests.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          operatorToken: { type: 'http', scheme: 'bearer', description: 'rampart operator tokens create <name>' },
        },
      },
    },
  });
  await app.register(cookie);
  for (const feature of features) await feature.hooks?.(app, ctx);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/static/', schemaHide: true, index: false });
  await app.register(fastifyStatic, {
    root: picoDir,
    prefix: '/static/pico/',
    decorateReply: false,
    index: false,
    allowedPath: (file) => file === '/pico.min.css',
  });

  healthRoutes(app, deps.db);
  for (const feature of features) {
    const { routes } = feature;
    // Encapsulated: hooks and decorators a feature adds to its routes stay with them.
    if (routes) await app.register(async (scope) => routes(scope, ctx), { name: feature.name });
  }
  return app;
}

/**
 * D3: the keyring as a live one. Keys from a file (RAMPART_MASTER_KEYS_FILE, or dev mode's one in the
 * data directory) are re-read without a restart; keys given in RAMPART_MASTER_KEYS itself are fixed.
 */
function liveKeyringOf(config: Config, keyring: Keyring, logger: Logger): LiveKeyring {
  if (isLiveKeyring(keyring)) return keyring;
  const file = config.masterKeysFile ?? (config.masterKeys ? undefined : path.join(config.dataDir, DEV_KEY_FILE));
  return createLiveKeyring({
    initial: keyring,
    file,
    onRetiredUse: (err) => logger.error({ reason: err.message }, 'decrypt under a retired master key'),
  });
}

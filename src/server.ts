import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { loadKeyring } from './platform/crypto/master-key-file.js';
import { openDatabase, runtimeUrlFor, type Database } from './platform/db/database.js';
import { migrate } from './platform/db/migrator.js';
import { createLogger } from './platform/logging.js';
import { createEventBus } from './platform/events/bus.js';
import { createLimits } from './platform/limits/limiter.js';
import { httpsLocation } from './platform/http/security-headers.js';
import { createMailer } from './platform/mail/index.js';

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  logger: Logger;
  url: string;
  redirect?: http.Server;
  /** Stops accepting, lets in-flight requests finish, then closes mail and the database. */
  shutdown(): Promise<void>;
}

export function openConfiguredDatabase(config: Config, logger: Logger): Promise<Database> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    databaseRuntimeUrl: config.databaseRuntimeUrl,
    dataDir: path.join(config.dataDir, 'pgdata'),
    onPoolError: (err) => logger.error({ err }, 'database connection lost'),
  });
}

/** T2: the plain listener beside HTTPS answers every request with a 308 to the public HTTPS address. */
function redirectServer(baseUrl: string): http.Server {
  const origin = new URL(baseUrl).origin;
  return http.createServer((req, res) => {
    // The target's origin comes from configuration, never from the request: no open redirect.
    res.writeHead(308, { Location: httpsLocation(origin, req.url ?? '/'), 'Content-Length': '0' });
    res.end();
  });
}

export async function startServer(config: Config, logStream?: DestinationStream): Promise<RunningServer> {
  const logger = createLogger(config.logLevel, logStream);
  const keyring = loadKeyring(config, (message) => logger.warn(message));
  const db = await openConfiguredDatabase(config, logger);
  try {
    const ran = await migrate(db.owner);
    if (ran.length > 0) logger.info({ migrations: ran }, 'applied migrations');
  } catch (err) {
    await db.close();
    throw err;
  }
  const mailer = createMailer(config, db);
  const limits = createLimits({ redisUrl: config.redisUrl });
  // Instances share revocations through Redis, or PostgreSQL's LISTEN/NOTIFY; the embedded database is one process.
  const bus = createEventBus({ redisUrl: config.redisUrl, databaseUrl: config.databaseRuntimeUrl ?? (config.databaseUrl && runtimeUrlFor(config.databaseUrl)) });
  const https = config.tls ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } : undefined;
  const app = await buildApp(config, { db, keyring, mailer, logger, limits, bus, https });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // A taken port must not leave the database and connections open behind the error.
    await app.close();
    await Promise.allSettled([mailer.close(), limits.close(), bus.close()]);
    await db.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const url = `${https ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let redirect: http.Server | undefined;
  if (https) {
    redirect = redirectServer(config.baseUrl);
    await new Promise<void>((resolve, reject) => redirect!.once('error', reject).listen(config.httpRedirectPort, config.host, resolve));
  }
  logger.info({ url, dev: config.dev, database: db.kind }, 'rampart is listening');

  let stopping: Promise<void> | undefined;
  return {
    app, db, logger, url, redirect,
    shutdown() {
      stopping ??= (async () => {
        logger.info('shutting down');
        if (redirect) {
          redirect.closeAllConnections();
          await new Promise((resolve) => redirect!.close(resolve));
        }
        await app.close();
        await Promise.allSettled([mailer.close(), limits.close(), bus.close()]);
        await db.close();
        logger.info('shutdown complete');
      })();
      return stopping;
    },
  };
}

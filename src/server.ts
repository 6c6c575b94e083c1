import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { loadKeyring } from './platform/crypto/master-key-file.js';
import { lockDataDir } from './platform/db/data-dir-lock.js';
import { openDatabase, runtimeUrlFor, type Database } from './platform/db/database.js';
import { OperatorError } from './platform/errors.js';
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

export interface OpenDatabaseOptions {
  /** For commands that only read (audit verify, migrate --status): refuse rather than create an embedded database. */
  mustExist?: boolean;
  /** Where to say that a stale lock of the data directory was taken over (default: a warning in the log). */
  notice?: (message: string) => void;
}

/**
 * The configured database. The embedded one is one process's: its data directory is locked
 * (`rampart.lock`, holding the PID) until the database is closed or the process exits.
 */
export async function openConfiguredDatabase(
  config: Config,
  logger: Logger,
  opts: OpenDatabaseOptions = {},
): Promise<Database> {
  const onPoolError = (err: Error) => logger.error({ err }, 'database connection lost');
  if (config.databaseUrl) {
    return openDatabase({
      databaseUrl: config.databaseUrl,
      databaseRuntimeUrl: config.databaseRuntimeUrl,
      onPoolError,
    });
  }
  const pgdata = path.join(config.dataDir, 'pgdata');
  if (opts.mustExist && !existsSync(pgdata)) {
    throw new OperatorError(
      `no database in ${config.dataDir} (RAMPART_DATA_DIR): create it with \`rampart migrate\` or \`rampart ` +
        `start\` first`,
    );
  }
  const lock = lockDataDir(config.dataDir, opts.notice ?? ((message) => logger.warn(message)));
  let db: Database;
  try {
    db = await openDatabase({ dataDir: pgdata, onPoolError });
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    ...db,
    async close() {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    },
  };
}

/** A listener that cannot bind is the operator's to fix: say which port and what to do, in one line. */
function listenProblem(err: unknown, port: number, host: string, variable: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new OperatorError(
      `port ${port} on ${host} is already in use by another program: stop it, or set ${variable} to a free port`,
      { cause: err },
    );
  if (code === 'EACCES')
    return new OperatorError(
      `no permission to listen on port ${port} on ${host}: set ${variable} to a port above 1023, or allow this ` +
        `user to bind it`,
      { cause: err },
    );
  if (code === 'EADDRNOTAVAIL')
    return new OperatorError(
      `cannot listen on ${host}: no network interface of this machine has that address (set HOST)`,
      { cause: err },
    );
  return err;
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
  // The database first: it locks the data directory, where the dev master key is made too.
  const db = await openConfiguredDatabase(config, logger);
  let keyring: ReturnType<typeof loadKeyring>;
  try {
    keyring = loadKeyring(config, (message) => logger.warn(message));
    const ran = await migrate(db.owner);
    if (ran.length > 0) logger.info({ migrations: ran }, 'applied migrations');
  } catch (err) {
    await db.close();
    throw err;
  }
  const mailer = createMailer(config, db);
  const limits = createLimits({ redisUrl: config.redisUrl });
  // Instances share revocations through Redis, or PostgreSQL's LISTEN/NOTIFY; the embedded database is one process.
  const bus = createEventBus({
    redisUrl: config.redisUrl,
    databaseUrl: config.databaseRuntimeUrl ?? (config.databaseUrl && runtimeUrlFor(config.databaseUrl)),
  });
  const https = config.tls
    ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }
    : undefined;
  const app = await buildApp(config, { db, keyring, mailer, logger, limits, bus, https });
  let redirect: http.Server | undefined;
  try {
    // Fastify's own line would print the socket address as if it were the one to open; ours (below) prints that.
    const listenTextResolver = (address: string) => `socket bound to ${address}`;
    await app.listen({ port: config.port, host: config.host, listenTextResolver }).catch((err: unknown) => {
      throw listenProblem(err, config.port, config.host, 'PORT');
    });
    if (https) {
      const plain = redirectServer(config.baseUrl);
      await new Promise<void>((resolve, reject) =>
        plain.once('error', reject).listen(config.httpRedirectPort, config.host, resolve),
      ).catch((err: unknown) => {
        throw listenProblem(err, config.httpRedirectPort, config.host, 'RAMPART_HTTP_PORT');
      });
      redirect = plain;
    }
  } catch (err) {
    // A taken port must not leave the database (and its lock) and connections open behind the error.
    await app.close();
    await Promise.allSettled([mailer.close(), limits.close(), bus.close()]);
    await db.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const url = `${https ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  // The address to open is the public one (RAMPART_BASE_URL): cookies, passkeys and mailed links belong to it.
  logger.info(
    { url: config.baseUrl, listening: url, dev: config.dev, database: db.kind },
    `rampart is listening: open ${config.baseUrl}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    app,
    db,
    logger,
    url,
    redirect,
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

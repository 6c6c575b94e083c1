import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Feature, Overrides } from '../src/feature.js';
import { parseKeyring } from '../src/platform/crypto/keyring.js';
import { createPasswordHasher } from '../src/platform/crypto/passwords.js';
import { createEventBus, createMemoryBus } from '../src/platform/events/bus.js';
import { createLimits } from '../src/platform/limits/limiter.js';
import { createLogger } from '../src/platform/logging.js';
import { createMailer } from '../src/platform/mail/index.js';
import type { TestDatabase } from '../test/helpers/database.js';
import { httpClient } from './http-client.js';

export const PASSWORD = 'vivid otter pencil marble';
export const ORIGIN = 'http://localhost:3000';
const embeddedEvents = new EventEmitter();

/** One Rampart instance on the given database, listening on a free loopback port. */
export async function instance(
  db: TestDatabase,
  keys: string,
  env: Record<string, string> = {},
  extra: { features?: readonly Feature[]; overrides?: Overrides } = {},
) {
  const config = loadConfig({ RAMPART_DEV: 'true', RAMPART_MASTER_KEYS: keys, LOG_LEVEL: 'warn', ...env });
  const limits = createLimits({ redisUrl: process.env.REDIS_URL, prefix: `bench-${Date.now()}-${Math.random()}` });
  // The embedded database serves one process: its instances share in-process events.
  const bus =
    process.env.REDIS_URL || db.url
      ? createEventBus({ redisUrl: process.env.REDIS_URL, databaseUrl: db.url })
      : createMemoryBus(embeddedEvents);
  const logger = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
  const mailer = createMailer(config, db);
  const app = await buildApp(
    config,
    {
      db,
      keyring: parseKeyring(keys),
      mailer,
      logger,
      limits,
      bus,
      hasher: createPasswordHasher(),
      overrides: extra.overrides,
    },
    extra.features,
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    base,
    close: async () => {
      await app.close();
      await Promise.all([limits.close(), bus.close(), mailer.close()]);
    },
  };
}

/** Signs up and verifies an account straight through the database, then signs in over HTTP. */
export async function account(db: TestDatabase, base: string, email: string, hasher = createPasswordHasher()) {
  await db.withSystem((tx) =>
    tx.insertInto('users').values({ email, email_verified_at: new Date(), password_changed_at: new Date() }).execute(),
  );
  const hash = await hasher.hash(PASSWORD);
  await db.withSystem((tx) =>
    tx.updateTable('users').set({ password_hash: hash }).where('email', '=', email).execute(),
  );
  const client = httpClient(base);
  const res = await client.request(
    'POST',
    '/api/v1/signin',
    { 'content-type': 'application/json', origin: ORIGIN },
    JSON.stringify({ email, password: PASSWORD }),
  );
  client.close();
  const cookie = [res.headers['set-cookie']]
    .flat()
    .find((c) => c?.startsWith('__Host-rampart_session='))!
    .split(';')[0]!;
  return cookie;
}

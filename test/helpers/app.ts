import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { generateMasterKeyEntry, parseKeyring } from '../../src/platform/crypto/keyring.js';
import { createLogger } from '../../src/platform/logging.js';
import { createMailer } from '../../src/platform/mail/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  /** Everything the app logged, one JSON line per entry. */
  logs(): string;
  close(): Promise<void>;
}

/** Env for a dev-mode instance with a fresh key; tests override what they exercise. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { RAMPART_DEV: 'true', RAMPART_MASTER_KEYS: generateMasterKeyEntry(1), LOG_LEVEL: 'info', ...overrides };
}

export async function createTestApp(
  env: Record<string, string | undefined> = {},
  customize?: (app: FastifyInstance) => void | Promise<void>,
): Promise<TestApp> {
  const config = loadConfig(testEnv(env));
  const db = await createTestDatabase();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const app = await buildApp(config, { db, keyring: parseKeyring(config.masterKeys!), mailer: createMailer(config, db), logger });
  await customize?.(app);
  await app.ready();
  return {
    app,
    db,
    config,
    logs: () => lines.join(''),
    async close() {
      await app.close();
      await db.dispose();
    },
  };
}

import { afterAll } from 'vitest';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { defineFeature, type Feature, type FeatureContext, type Overrides } from '../../src/feature.js';
import { loadConfig, type Config } from '../../src/config.js';
import { generateMasterKeyEntry, parseKeyring } from '../../src/platform/crypto/keyring.js';
import { EventEmitter } from 'node:events';
import { createEventBus, createMemoryBus, type EventBus } from '../../src/platform/events/bus.js';
import { createLimits, type Limits } from '../../src/platform/limits/limiter.js';
import { createLogger } from '../../src/platform/logging.js';
import { createPasswordHasher, type PasswordParams } from '../../src/platform/crypto/passwords.js';
import { fixedClock } from '../../src/platform/clock.js';
import { createInProcessRunner, createJobLedger, type JobRunner } from '../../src/platform/jobs/index.js';
import { createMailer, type DevMailbox, type StoredMail } from '../../src/platform/mail/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import type { Tables } from '../../src/platform/db/tables.js';

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  config: Config;
  limits: Limits;
  bus: EventBus;
  busEmitter: EventEmitter;
  clock: ReturnType<typeof fixedClock>;
  /** Dev mailbox (when SMTP_URL is not set): what the app "sent". */
  mailbox: DevMailbox;
  /**
   * Waits for the newest mail to an address (sending happens after the response); `newerThan`: one sent after that
   * mail.
   */
  mailTo(address: string, subject?: RegExp, newerThan?: StoredMail): Promise<StoredMail>;
  /** Runs a scheduled job now (the named job of a feature) and waits for it. */
  runJob(name: string): Promise<void>;
  /** Everything the app logged, one JSON line per entry. */
  logs(): string;
  close(): Promise<void>;
}

/** One master key per test process: instances sharing a database are one deployment, with one keyring. */
const TEST_MASTER_KEYS = generateMasterKeyEntry(1);

/** Env for a dev-mode instance; tests override what they exercise. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { RAMPART_DEV: 'true', RAMPART_MASTER_KEYS: TEST_MASTER_KEYS, LOG_LEVEL: 'info', ...overrides };
}

export interface TestAppOptions {
  /** Share a database with another instance (multi-instance tests). */
  db?: TestDatabase;
  /** A real clock instead of the test's movable one. */
  realTime?: boolean;
  /**
   * Another instance of the same deployment: with the embedded database both live in one process and share in-process
   * events.
   */
  sameDeploymentAs?: TestApp;
  /** Argon2id parameters (default: cheap test strength). */
  hasherParams?: PasswordParams;
  /** Feature settings in place of their defaults. */
  overrides?: Overrides;
  /** Run scheduled jobs on their timers, as a deployment does (default: only when a test runs one). */
  scheduleTimers?: boolean;
  /** A job runner in place of the in-process one without timers (the pg-boss suite gives its own). */
  schedule?: JobRunner;
  /** The feature list in place of src/features.ts (a test appends one that reads the others' services). */
  features?: readonly Feature[];
}

/**
 * A full app on a fresh test database (PGlite, or PostgreSQL when DATABASE_URL is set), with
 * Redis-backed limits and events when REDIS_URL is set, like CI's second run.
 */
/** The test app of one test file: opened while the file is collected, closed after its last test. */
export async function fileTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const t = await createTestApp(env);
  afterAll(() => t.close());
  return t;
}

export async function createTestApp(
  env: Record<string, string | undefined> = {},
  customize?: (app: FastifyInstance) => void | Promise<void>,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = loadConfig(testEnv(env));
  const ownDb = !options.db;
  const db = options.db ?? (await createTestDatabase());
  const limits = createLimits({
    redisUrl: process.env.REDIS_URL,
    prefix: `rampart-test-${Math.random().toString(36).slice(2)}`,
  });
  const busEmitter = options.sameDeploymentAs?.busEmitter ?? new EventEmitter();
  const bus =
    process.env.REDIS_URL || db.url
      ? createEventBus({ redisUrl: process.env.REDIS_URL, databaseUrl: db.url })
      : createMemoryBus(busEmitter);
  const clock = fixedClock(new Date());
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const mailer = createMailer(config, db);
  const ledger = createJobLedger({ db, clock: options.realTime ? { now: () => new Date() } : clock });
  const schedule =
    options.schedule ?? createInProcessRunner({ logger, ledger, timers: options.scheduleTimers ?? false });
  const app = await buildApp(
    config,
    {
      db,
      keyring: parseKeyring(config.masterKeys!),
      mailer,
      logger,
      limits,
      bus,
      clock: options.realTime ? undefined : clock,
      // Argon2id at test strength: the parameters are tested on their own in the crypto suite.
      hasher: createPasswordHasher(options.hasherParams ?? { memoryKiB: 1024, iterations: 1, parallelism: 1 }),
      overrides: options.overrides,
      schedule,
    },
    options.features,
  );
  await customize?.(app);
  await app.ready();
  return {
    app,
    db,
    config,
    limits,
    bus,
    busEmitter,
    clock,
    mailbox: mailer.devMailbox!,
    async mailTo(address, subject, newerThan) {
      for (let i = 0; i < 100; i++) {
        const found = (await mailer.devMailbox!.list(500)).find(
          (m) => m.to === address && (!subject || subject.test(m.subject)),
        );
        if (found && found.id !== newerThan?.id) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no mail to ${address}${subject ? ` matching ${subject}` : ''}`);
    },
    runJob: (name) => schedule.run(name),
    logs: () => lines.join(''),
    async close() {
      await app.close();
      await Promise.all([limits.close(), bus.close(), mailer.close()]);
      if (ownDb) await db.dispose();
    },
  };
}

/** A last feature that keeps the app's feature context, for tests that use services or run trust checks. */
export function captureContext(): { feature: Feature; ctx: () => FeatureContext } {
  let captured: FeatureContext | undefined;
  const feature = defineFeature({
    name: 'capture',
    title: 'Test: the feature context',
    setup(ctx) {
      captured = ctx;
    },
  });
  return { feature, ctx: () => captured! };
}

/** How many rows a table holds, across tenants (the owner connection). */
export async function rowCount(t: TestApp, table: keyof Tables): Promise<number> {
  const row = await t.db.owner
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateMasterKeyEntry, parseKeyring } from '../src/platform/crypto/keyring.js';
import { createPasswordHasher } from '../src/platform/crypto/passwords.js';
import { hashToken } from '../src/platform/crypto/tokens.js';
import { EventEmitter } from 'node:events';
import { createEventBus, createMemoryBus } from '../src/platform/events/bus.js';
import { createLimits } from '../src/platform/limits/limiter.js';
import { createLogger } from '../src/platform/logging.js';
import { createMailer } from '../src/platform/mail/index.js';
import { createTestDatabase, type TestDatabase } from '../test/helpers/database.js';
import { httpClient } from './http-client.js';
import { measure, report } from './measure.js';

const PASSWORD = 'vivid otter pencil marble';
const ORIGIN = 'http://localhost:3000';
const embeddedEvents = new EventEmitter();

async function instance(db: TestDatabase, keys: string) {
  const config = loadConfig({ RAMPART_DEV: 'true', RAMPART_MASTER_KEYS: keys, LOG_LEVEL: 'warn' });
  const limits = createLimits({ redisUrl: process.env.REDIS_URL, prefix: `bench-${Date.now()}-${Math.random()}` });
  // The embedded database serves one process: its instances share in-process events.
  const bus = process.env.REDIS_URL || db.url ? createEventBus({ redisUrl: process.env.REDIS_URL, databaseUrl: db.url }) : createMemoryBus(embeddedEvents);
  const logger = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));
  const mailer = createMailer(config, db);
  const app = await buildApp(config, { db, keyring: parseKeyring(keys), mailer, logger, limits, bus, hasher: createPasswordHasher() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, base, close: async () => { await app.close(); await Promise.all([limits.close(), bus.close(), mailer.close()]); } };
}

/** Signs up and verifies an account straight through the database, then signs in over HTTP. */
async function account(db: TestDatabase, base: string, email: string, hasher = createPasswordHasher()) {
  await db.withSystem((tx) => tx.insertInto('users').values({ email, email_verified_at: new Date(), password_changed_at: new Date() }).execute());
  const hash = await hasher.hash(PASSWORD);
  await db.withSystem((tx) => tx.updateTable('users').set({ password_hash: hash }).where('email', '=', email).execute());
  const client = httpClient(base);
  const res = await client.request('POST', '/api/v1/signin', { 'content-type': 'application/json', origin: ORIGIN }, JSON.stringify({ email, password: PASSWORD }));
  client.close();
  const cookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('__Host-rampart_session='))!.split(';')[0]!;
  return cookie;
}

/**
 * S1/S3: an authenticated request (cookie → session → user JSON) against the bare /healthz route
 * of the same run; then, with two instances on one database, a revoked session must be refused
 * on its very next request to the other instance. D2: p99 of authenticated requests while 50
 * password sign-ins (OWASP Argon2id) run at once, against the idle p99.
 */
export async function run(): Promise<void> {
  const db = await createTestDatabase();
  const keys = generateMasterKeyEntry(1);
  const a = await instance(db, keys);
  const b = await instance(db, keys);
  try {
    const cookie = await account(db, a.base, `bench.${Date.now()}@example.com`);
    const client = httpClient(a.base);
    const concurrency = 16;
    // Warm both routes first (JIT, pools, cache), so neither pays for it during its measurement.
    await measure(() => Promise.all([client.request('GET', '/healthz'), client.request('GET', '/api/v1/me', { cookie })]), { seconds: 1.5, concurrency });
    const bare = await measure(async () => {
      const r = await client.request('GET', '/healthz');
      if (r.status !== 200) throw new Error(`healthz ${r.status}`);
    }, { concurrency });
    const authed = await measure(async () => {
      const r = await client.request('GET', '/api/v1/me', { cookie });
      if (r.status !== 200) throw new Error(`me ${r.status}`);
    }, { concurrency });
    report(`authenticated request on ${db.kind}, ${concurrency} concurrent (events: ${process.env.REDIS_URL ? 'redis' : db.url ? 'postgres' : 'memory'})`, authed, bare, 'GET /healthz, no session');

    // Revocation across instances, measured at the first request after the revoke returned.
    const victim = await account(db, a.base, `victim.${Date.now()}@example.com`);
    const onB = httpClient(b.base);
    for (let i = 0; i < 5; i++) await onB.request('GET', '/api/v1/me', { cookie: victim }); // cached on B
    const token = victim.split('=')[1]!;
    const session = await db.withSystem((tx) => tx.selectFrom('sessions').select('id').where('token_hash', '=', hashToken(token)).executeTakeFirstOrThrow());
    const csrf = JSON.parse((await client.request('GET', '/api/v1/csrf-token', { cookie: victim })).body).token as string;
    const started = performance.now();
    const revoke = await client.request('DELETE', `/api/v1/sessions/${session.id}`, { cookie: victim, origin: ORIGIN, 'x-csrf-token': csrf });
    const next = await onB.request('GET', '/api/v1/me', { cookie: victim });
    console.log(`  revocation: revoke answered ${revoke.status}; the next request on the other instance answered ${next.status} ${next.status === 401 ? 'as it must' : 'WRONG'} (${(performance.now() - started).toFixed(1)} ms after the revoke was sent)`);
    onB.close();

    // Argon2id under load: 50 sign-ins at once, each from its own loopback address (per-IP limits).
    const idle = await measure(() => client.request('GET', '/api/v1/me', { cookie }), { seconds: 2, concurrency: 4 });
    const signInEmail = `load.${Date.now()}@example.com`;
    await account(db, a.base, signInEmail);
    const worker = new Worker(new URL('./signin-burst.mjs', import.meta.url), { workerData: { base: a.base, email: signInEmail, password: PASSWORD, origin: ORIGIN } });
    const done = new Promise<{ bursts: number; statuses: Record<string, number> }>((resolve) => worker.once('message', resolve));
    await new Promise((r) => setTimeout(r, 300)); // let the first burst reach the hasher
    const loaded = await measure(() => client.request('GET', '/api/v1/me', { cookie }), { seconds: 4, concurrency: 4, warmup: 0.2 });
    worker.postMessage('stop');
    const { bursts: burst, statuses } = await done;
    await worker.terminate();
    console.log(`  sign-in answers during the load: ${JSON.stringify(statuses)}`);
    console.log(`\nauthenticated p99 during 50 concurrent password sign-ins (Argon2id m=19 MiB, t=2, p=1; ${burst} bursts): ${loaded.p99Ms.toFixed(2)} ms`);
    console.log(`  baseline (idle): p99 ${idle.p99Ms.toFixed(2)} ms`);
    console.log(`  ratio: ${(loaded.p99Ms / idle.p99Ms).toFixed(2)} of idle p99 (goal ≤ 2)`);
    client.close();
  } finally {
    await a.close();
    await b.close();
    await db.dispose();
  }
}

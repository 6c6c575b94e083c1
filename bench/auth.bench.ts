import { Worker } from 'node:worker_threads';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { hashToken } from '../src/platform/crypto/tokens.js';

import { createTestDatabase } from '../test/helpers/database.js';
import { account, instance, ORIGIN, PASSWORD } from './setup.js';
import { httpClient } from './http-client.js';
import { measure, report } from './measure.js';

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
    await measure(
      () => Promise.all([client.request('GET', '/healthz'), client.request('GET', '/api/v1/me', { cookie })]),
      { seconds: 1.5, concurrency },
    );
    const bare = await measure(
      async () => {
        const r = await client.request('GET', '/healthz');
        if (r.status !== 200) throw new Error(`healthz ${r.status}`);
      },
      { concurrency },
    );
    const authed = await measure(
      async () => {
        const r = await client.request('GET', '/api/v1/me', { cookie });
        if (r.status !== 200) throw new Error(`me ${r.status}`);
      },
      { concurrency },
    );
    report(
      `authenticated request on ${db.kind}, ${concurrency} concurrent (events: ` +
        `${process.env.REDIS_URL ? 'redis' : db.url ? 'postgres' : 'memory'})`,
      authed,
      bare,
      'GET /healthz, no session',
    );

    // Revocation across instances, measured at the first request after the revoke returned.
    const victim = await account(db, a.base, `victim.${Date.now()}@example.com`);
    const onB = httpClient(b.base);
    for (let i = 0; i < 5; i++) await onB.request('GET', '/api/v1/me', { cookie: victim }); // cached on B
    const token = victim.split('=')[1]!;
    const session = await db.withSystem((tx) =>
      tx.selectFrom('sessions').select('id').where('token_hash', '=', hashToken(token)).executeTakeFirstOrThrow(),
    );
    const csrf = JSON.parse((await client.request('GET', '/api/v1/csrf-token', { cookie: victim })).body)
      .token as string;
    const started = performance.now();
    const revoke = await client.request('DELETE', `/api/v1/sessions/${session.id}`, {
      cookie: victim,
      origin: ORIGIN,
      'x-csrf-token': csrf,
    });
    const next = await onB.request('GET', '/api/v1/me', { cookie: victim });
    console.log(
      `  revocation: revoke answered ${revoke.status}; the next request on the other instance answered ` +
        `${next.status} ${next.status === 401 ? 'as it must' : 'WRONG'} ` +
        `(${(performance.now() - started).toFixed(1)} ms after the revoke was sent)`,
    );
    onB.close();

    // Argon2id under load: 50 sign-ins at once, each from its own loopback address (per-IP limits).
    const idle = await measure(() => client.request('GET', '/api/v1/me', { cookie }), { seconds: 2, concurrency: 4 });
    const signInEmail = `load.${Date.now()}@example.com`;
    await account(db, a.base, signInEmail);
    const worker = new Worker(new URL('./signin-burst.mjs', import.meta.url), {
      workerData: { base: a.base, email: signInEmail, password: PASSWORD, origin: ORIGIN },
    });
    const done = new Promise<{ bursts: number; statuses: Record<string, number> }>((resolve) =>
      worker.once('message', resolve),
    );
    await new Promise((r) => setTimeout(r, 300)); // let the first burst reach the hasher
    const loaded = await measure(() => client.request('GET', '/api/v1/me', { cookie }), {
      seconds: 4,
      concurrency: 4,
      warmup: 0.2,
    });
    worker.postMessage('stop');
    const { bursts: burst, statuses } = await done;
    await worker.terminate();
    console.log(`  sign-in answers during the load: ${JSON.stringify(statuses)}`);
    console.log(
      `\nauthenticated p99 during 50 concurrent password sign-ins (Argon2id m=19 MiB, t=2, p=1; ${burst} ` +
        `bursts): ${loaded.p99Ms.toFixed(2)} ms`,
    );
    console.log(`  baseline (idle): p99 ${idle.p99Ms.toFixed(2)} ms`);
    console.log(`  ratio: ${(loaded.p99Ms / idle.p99Ms).toFixed(2)} of idle p99 (goal ≤ 2)`);
    client.close();
  } finally {
    await a.close();
    await b.close();
    await db.dispose();
  }
}

import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { hashToken } from '../src/platform/crypto/tokens.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { httpClient } from './http-client.js';
import { account, instance, ORIGIN } from './setup.js';

/**
 * S3: with two instances on one database, a revoked session must be refused on its very next request
 * to the other instance. (Throughput and the p99 under a sign-in storm are the HTTP bench's, measured
 * from a separate process: `npm run bench`.)
 */
export async function run(): Promise<void> {
  const db = await createTestDatabase();
  const keys = generateMasterKeyEntry(1);
  const a = await instance(db, keys);
  const b = await instance(db, keys);
  try {
    const client = httpClient(a.base);
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
      `revocation on ${db.kind} (events: ${process.env.REDIS_URL ? 'redis' : db.url ? 'postgres' : 'memory'}): ` +
        `revoke answered ${revoke.status}; the next request on the other instance answered ` +
        `${next.status} ${next.status === 401 ? 'as it must' : 'WRONG'} ` +
        `(${(performance.now() - started).toFixed(1)} ms after the revoke was sent)`,
    );
    onB.close();
    client.close();
  } finally {
    await a.close();
    await b.close();
    await db.dispose();
  }
}

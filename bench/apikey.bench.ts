import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { httpClient } from './http-client.js';
import { measure, report } from './measure.js';
import { account, instance, ORIGIN } from './setup.js';

/**
 * O6/O2: an API-key-authenticated tenant read (key lookup, hash check, tenant transaction with RLS,
 * members query) against the bare /healthz route of the same run. The per-key limit is raised so
 * the benchmark measures the work, not the limiter's refusals.
 */
export async function run(): Promise<void> {
  const db = await createTestDatabase();
  const server = await instance(db, generateMasterKeyEntry(1), { RAMPART_API_KEY_RATE_LIMIT: '1000000' });
  const client = httpClient(server.base);
  try {
    const cookie = await account(db, server.base, `keys.${Date.now()}@example.com`);
    const csrf = JSON.parse((await client.request('GET', '/api/v1/csrf-token', { cookie })).body).token as string;
    const post = (path: string, body: unknown) =>
      client.request(
        'POST',
        path,
        { cookie, origin: ORIGIN, 'x-csrf-token': csrf, 'content-type': 'application/json' },
        JSON.stringify(body),
      );
    const org = JSON.parse((await post('/api/v1/orgs', { name: 'Bench' })).body).id as string;
    const { key } = JSON.parse(
      (await post(`/api/v1/orgs/${org}/api-keys`, { name: 'bench', scopes: ['members.read'], expiresInDays: 1 })).body,
    ) as { key: string };
    const authorization = `Bearer ${key}`;
    const concurrency = 16;
    await measure(
      () =>
        Promise.all([
          client.request('GET', '/healthz'),
          client.request('GET', `/api/v1/orgs/${org}/members`, { authorization }),
        ]),
      { seconds: 1.5, concurrency },
    );
    const bare = await measure(() => client.request('GET', '/healthz'), { concurrency });
    const keyed = await measure(
      async () => {
        const r = await client.request('GET', `/api/v1/orgs/${org}/members`, { authorization });
        if (r.status !== 200) throw new Error(`members ${r.status}`);
      },
      { concurrency },
    );
    report(
      `API-key tenant read (GET members) on ${db.kind}, ${concurrency} concurrent`,
      keyed,
      bare,
      'GET /healthz, no key',
    );
  } finally {
    client.close();
    await server.close();
    await db.dispose();
  }
}

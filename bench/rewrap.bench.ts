import { performance } from 'node:perf_hooks';
import { upstreamSecretContext } from '../src/external-signin/providers.js';
import { upstreamClientSecrets } from '../src/external-signin/sealed-values.js';
import { seal } from '../src/platform/crypto/envelope.js';
import { generateMasterKeyEntry, parseKeyring } from '../src/platform/crypto/keyring.js';
import { createLiveKeyring } from '../src/platform/crypto/live-keyring.js';
import type { Database } from '../src/platform/db/database.js';
import { rewrapAll } from '../src/platform/keys/rewrap.js';
import { createTestDatabase } from '../test/helpers/database.js';

const RECORDS = 4000;
const BATCH = 200;
const ROUNDS = 3;

/** The same pages and compare-and-set writes as the rewrap, with the value written back unchanged. */
async function plainReadWrite(db: Database): Promise<number> {
  let after: string | undefined;
  let n = 0;
  for (;;) {
    const page = await db.withSystem(async (tx) => {
      const rows = await upstreamClientSecrets.page(tx, after, BATCH);
      for (const r of rows) if (await upstreamClientSecrets.replace(tx, r.key, r.sealed, r.sealed)) n++;
      return rows;
    });
    if (page.length < BATCH) return n;
    after = page.at(-1)?.key;
  }
}

/** D3: rewrap throughput (records/s) on PostgreSQL, against a plain read + write of the same rows. */
export async function run(): Promise<void> {
  if (!process.env.DATABASE_URL) {
    console.log("rewrap: skipped (set DATABASE_URL: the throughput that matters is PostgreSQL's)");
    return;
  }
  const db = await createTestDatabase();
  try {
    const keyring = createLiveKeyring({
      initial: parseKeyring(`${generateMasterKeyEntry(1)},${generateMasterKeyEntry(2)}`),
      file: undefined,
    });
    keyring.decide({ current: 1, retired: [] });
    const now = new Date();
    for (let i = 0; i < RECORDS; i += 500) {
      const rows = Array.from({ length: Math.min(500, RECORDS - i) }, (_, j) => {
        const id = `bench-${String(i + j).padStart(6, '0')}`;
        const sealed = seal(keyring, `secret-${i + j}`, upstreamSecretContext(id));
        return {
          id,
          name: id,
          issuer: 'https://idp.example.com',
          client_id: 'c',
          client_secret_sealed: sealed,
          created_at: now,
        };
      });
      await db.withSystem((tx) => tx.insertInto('upstream_providers').values(rows).execute());
    }
    const subject: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      keyring.decide({ current: round % 2 === 0 ? 2 : 1, retired: [] });
      let started = performance.now();
      const result = await rewrapAll({ db, keyring, values: [upstreamClientSecrets], batch: BATCH });
      subject.push(result.rewrapped / ((performance.now() - started) / 1000));
      started = performance.now();
      const written = await plainReadWrite(db);
      baseline.push(written / ((performance.now() - started) / 1000));
    }
    const best = (xs: number[]) => Math.max(...xs);
    console.log(`rewrap on ${db.kind}, ${RECORDS} records, batches of ${BATCH}: ${best(subject).toFixed(0)} records/s`);
    console.log(
      `  baseline (the same pages and compare-and-set writes, no crypto): ${best(baseline).toFixed(0)} records/s`,
    );
    console.log(`  ratio: ${(best(subject) / best(baseline)).toFixed(3)} of baseline throughput`);
  } finally {
    await db.dispose();
  }
}

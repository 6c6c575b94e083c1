import { spawn } from 'node:child_process';
import { defineFeature, type FeatureContext } from '../src/feature.js';
import { FEATURES } from '../src/features.js';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { createOutboundFetch } from '../src/platform/outbound-fetch.js';
import { makeCertificate } from '../test/helpers/certificates.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { type Measurement, measure, report } from './measure.js';
import { instance } from './setup.js';

/**
 * D1, issue 15 "Measured": useCredential's round trip — the connection and its provider read, the
 * organization's key and the secret opened, the request sent through the outbound fetch to a loopback
 * HTTPS server in another process, the use audited — against the same fetch with the key in plain
 * text, in the same run. On the embedded database, or PostgreSQL when DATABASE_URL is set.
 *
 * Environment: BENCH_VAULT_SECONDS (per phase, 2), BENCH_VAULT_CONCURRENCY (4), BENCH_VAULT_ROUNDS (2).
 */
const SECONDS = Number(process.env.BENCH_VAULT_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_VAULT_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_VAULT_ROUNDS ?? 2);

async function httpsServer(cert: { cert: Buffer; key: Buffer }) {
  const child = spawn(process.execPath, [new URL('./outbound-fetch-server.mjs', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the bench HTTPS server exited ${code}`)));
    child.stdin.end(JSON.stringify({ cert: cert.cert.toString(), key: cert.key.toString() }));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

export async function run(): Promise<void> {
  const cert = makeCertificate();
  const server = await httpsServer(cert);
  const db = await createTestDatabase();
  let ctx: FeatureContext | undefined;
  const capture = defineFeature({
    name: 'capture',
    title: 'bench: the feature context',
    setup(c) {
      ctx = c;
    },
  });
  const rampart = await instance(
    db,
    generateMasterKeyEntry(1),
    {},
    {
      features: [...FEATURES, capture],
      overrides: { vaultOutbound: { ca: cert.cert } },
    },
  );
  try {
    const host = `localhost:${server.port}`;
    const url = `https://${host}/v1/items?page=1`;
    const vault = ctx!.use('vault');
    await vault.providers.save(
      { id: 'bench', name: 'Bench', kind: 'api_key', allowedHosts: [host], authStyle: 'bearer' },
      'system:bench',
    );
    const [user] = await db.withSystem((tx) =>
      tx
        .insertInto('users')
        .values({ email: 'bench@example.com', email_verified_at: new Date() })
        .returning('id')
        .execute(),
    );
    const actor = { kind: 'user' as const, userId: user!.id, email: 'bench@example.com', twoFactor: true };
    const org = await ctx!.use('orgs').create(actor, 'Bench Inc', {});
    const key = `sk_live_${'k'.repeat(40)}`;
    const connection = await vault.create(actor, org.id, { providerId: 'bench', label: 'bench', secret: key });

    const throughVault = () =>
      vault.useCredential(org.id, connection.id, 'bench', async (fetch) => (await fetch(url)).body.length);
    const fetch = createOutboundFetch({ allowedHosts: [host], dev: true, ca: cert.cert });
    const plain = async () => (await fetch(url, { headers: { authorization: `Bearer ${key}` } })).body.length;
    if ((await throughVault()) !== (await plain())) throw new Error('the two paths do not get the same answer');

    const options = { seconds: SECONDS, concurrency: CONCURRENCY, warmup: 0.3 };
    const best: Record<'subject' | 'baseline', Measurement[]> = { subject: [], baseline: [] };
    for (let round = 0; round < ROUNDS; round++) {
      best.baseline.push(await measure(plain, options));
      best.subject.push(await measure(throughVault, options));
    }
    const top = (ms: Measurement[]) => ms.reduce((a, b) => (b.opsPerSecond > a.opsPerSecond ? b : a));
    report(
      `useCredential, GET 1 KiB over loopback HTTPS (${db.kind}), ${CONCURRENCY} at a time`,
      top(best.subject),
      top(best.baseline),
      'the same outbound fetch with the key in plain text',
    );
    const uses = await db.withTenant(org.id, (tx) =>
      tx.selectFrom('audit_events').select('id').where('action', '=', 'connection.used').execute(),
    );
    console.log(`  ${uses.length} uses audited`);
  } finally {
    await rampart.close();
    await db.dispose();
    server.stop();
  }
}

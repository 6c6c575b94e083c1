import { spawn } from 'node:child_process';
import https from 'node:https';
import tls from 'node:tls';
import { makeCertificate } from '../test/helpers/certificates.js';
import { createOutboundFetch } from '../src/platform/outbound-fetch.js';
import { type Measurement, measure, report } from './measure.js';

/**
 * T3, issue 15 "Measured": a GET through createOutboundFetch (host check, lookup, address vetting, pinned
 * connection, verified TLS, size-capped body) to a loopback HTTPS server in another process, against the same
 * GET with plain node:https in the same run. Both open a new connection per request, as the outbound fetch
 * does; a keep-alive node:https figure shows what connection reuse would be worth.
 *
 * Environment: BENCH_FETCH_SECONDS (per phase, 2), BENCH_FETCH_CONCURRENCY (4), BENCH_FETCH_ROUNDS (2).
 */
const SECONDS = Number(process.env.BENCH_FETCH_SECONDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_FETCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_FETCH_ROUNDS ?? 2);

export async function run(): Promise<void> {
  const cert = makeCertificate();
  const server = spawn(process.execPath, [new URL('./outbound-fetch-server.mjs', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      server.on('error', reject);
      server.on('exit', (code) => reject(new Error(`the bench HTTPS server exited ${code}`)));
      server.stdin.end(JSON.stringify({ cert: cert.cert.toString(), key: cert.key.toString() }));
    });
    const url = `https://localhost:${port}/v1/items?page=1`;
    const fetch = createOutboundFetch({ allowedHosts: [`localhost:${port}`], dev: true, ca: cert.cert });
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    // Built once, as the outbound fetch keeps its own: the ratio is then the fetch's own work, not CA parsing.
    const secureContext = tls.createSecureContext({ ca: cert.cert });
    const plain = (agent: https.Agent | false) => () => plainGet(url, secureContext, agent);
    const check = await fetch(url);
    if (check.status !== 200 || (await plainGet(url, secureContext, false)) !== check.body.length) {
      throw new Error('the two clients do not get the same answer');
    }

    // Phases alternate so drift in the machine's load hits both alike; each figure is the best round.
    const options = { seconds: SECONDS, concurrency: CONCURRENCY, warmup: 0.3 };
    const best: Record<'subject' | 'baseline' | 'reused', Measurement[]> = { subject: [], baseline: [], reused: [] };
    for (let round = 0; round < ROUNDS; round++) {
      best.baseline.push(await measure(plain(false), options));
      best.subject.push(await measure(() => fetch(url), options));
    }
    best.reused.push(await measure(plain(keepAlive), options));
    keepAlive.destroy();
    const top = (ms: Measurement[]) => ms.reduce((a, b) => (b.opsPerSecond > a.opsPerSecond ? b : a));
    report(
      `outbound fetch, GET 1 KiB over loopback HTTPS, ${CONCURRENCY} at a time`,
      top(best.subject),
      top(best.baseline),
      'plain node:https, a new connection per request',
    );
    const reused = top(best.reused);
    console.log(`  for scale, node:https with keep-alive: ${reused.opsPerSecond.toFixed(0)} ops/s`);
  } finally {
    server.kill('SIGTERM');
  }
}

/** One GET with node:https as a caller would write it without the outbound fetch; resolves the body's length. */
function plainGet(url: string, secureContext: tls.SecureContext, agent: https.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    // tls.connect takes secureContext; @types/node leaves it out of https's request options.
    const options = { secureContext, agent } as https.RequestOptions;
    const req = https.get(url, options, (res) => {
      let length = 0;
      res.on('data', (c: Buffer) => {
        length += c.length;
      });
      res.on('end', () => resolve(length));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

// `npm run bench`: Rampart as its own process, a bare Fastify process as the baseline, load from a third.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Options, options } from './args.js';
import { cleanupAll, freePort, runToEnd, start, waitFor200 } from './processes.js';
import { API_KEY_RATE_LIMIT, embeddedTarget, postgresTarget, ROOT, type Target } from './rampart.js';
import { f1, f2, f3, type Goal, goalsTable, median, sec } from './report.js';
import { benchTarget, type TargetResult } from './target.js';

const baselineScript = fileURLToPath(new URL('./baseline.mjs', import.meta.url));

export async function runHttpBench(argv: string[]): Promise<void> {
  const opts = options(argv);
  try {
    await bench(opts);
  } finally {
    await cleanupAll();
  }
}

async function bench(opts: Options): Promise<void> {
  const targets: Target[] = [embeddedTarget()];
  if (process.env.DATABASE_URL) targets.push(postgresTarget(process.env.DATABASE_URL, process.env.REDIS_URL));
  console.log(
    `# HTTP bench: ${opts.rounds} interleaved round(s) of ${opts.duration} s per route, ${opts.driver} ` +
      `(${opts.driver === 'wrk' ? `wrk -t2 -c${opts.connections}` : `autocannon -c${opts.connections}`}) in its ` +
      `own process${opts.driver === 'wrk' ? ' (wrk counts statuses >= 400 as non-2xx)' : ''}; ${os.cpus().length} ` +
      `CPUs, load average ${os.loadavg().map(f2).join(' ')}`,
  );
  console.log(
    `Rampart: node dist/cli.js start, RAMPART_DEV=true, LOG_LEVEL=warn, RAMPART_TRUSTED_PROXIES=127.0.0.1 ` +
      `(the storm spreads addresses with X-Forwarded-For), RAMPART_API_KEY_RATE_LIMIT=${API_KEY_RATE_LIMIT} ` +
      `(raised so the per-key limiter never refuses); targets: ${targets.map((t) => t.kind).join(', ')}` +
      (process.env.DATABASE_URL ? '' : ' (set DATABASE_URL and REDIS_URL to add PostgreSQL + Redis)'),
  );
  if (opts.build) {
    const t = Date.now();
    await runToEnd('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    console.log(`npm run build: ${sec(Date.now() - t)}`);
  }

  const port = await freePort();
  const baseline = start(process.execPath, [baselineScript], {
    cwd: path.dirname(baselineScript),
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
  });
  await waitFor200(`http://127.0.0.1:${port}/`, baseline, 30_000);
  console.log(`baseline: bare Fastify {ok:true} on port ${port} (pid ${baseline.pid})`);

  const results: TargetResult[] = [];
  for (const target of targets) results.push(await benchTarget(target, `http://127.0.0.1:${port}/`, opts));
  await baseline.stop();

  console.log('\n## Summary: the goals of issue 12 against the figures measured in this run');
  console.log(goalsTable(goals(results, opts)));
}

function goals(results: TargetResult[], opts: Options): Goal[] {
  const out: Goal[] = [];
  const of = (kind: TargetResult['kind']) => results.find((r) => r.kind === kind);
  const label = (r: TargetResult) => (r.kind === 'embedded' ? 'embedded' : 'PostgreSQL');
  const ratioGoal = (r: TargetResult, route: keyof TargetResult['routes'], name: string, min: number) => {
    const m = r.routes[route];
    out.push({
      goal: `${name} >= ${min} x bare (${label(r)})`,
      measured: m.valid ? `${f3(m.ratio)} (${f1(m.rps)} req/s)` : 'INVALID',
      met: m.valid ? m.ratio >= min : undefined,
    });
  };
  for (const r of results) ratioGoal(r, 'healthz', 'GET /healthz', 0.7);
  for (const r of results) ratioGoal(r, 'me', 'GET /api/v1/me', 0.6);
  const pgr = of('postgres');
  if (pgr) ratioGoal(pgr, 'apiKey', 'API-key read', 0.2);
  else
    out.push({
      goal: 'API-key read >= 0.2 x bare (PostgreSQL)',
      measured: 'not run (no DATABASE_URL)',
      met: undefined,
    });
  const emb = of('embedded');
  if (emb) {
    const m = emb.routes.apiKey;
    out.push({ goal: 'API-key read (embedded, no goal)', measured: m.valid ? f3(m.ratio) : 'INVALID', met: undefined });
  }
  for (const r of results) {
    const s = r.storm;
    out.push({
      goal: `sign-ins/s >= 0.8 x argon2 two-thread (${label(r)})`,
      measured: s.valid ? `${f2(s.ratio)} (${f1(s.signInsPerSecond)}/s)` : 'INVALID',
      met: s.valid ? s.ratio >= 0.8 : undefined,
    });
    out.push({
      goal: `/healthz p99 in the storm <= 2 x idle (${label(r)})`,
      measured: s.valid ? `${f2(s.stormP99 / s.idleP99)} (${f2(s.stormP99)} / ${f2(s.idleP99)} ms)` : 'INVALID',
      met: s.valid ? s.stormP99 <= 2 * s.idleP99 : undefined,
    });
  }
  for (const r of results) {
    const max = r.kind === 'embedded' ? 300 : 150;
    out.push({
      goal: `RSS at rest after the load <= ${max} MB (${label(r)})`,
      measured: `${f1(r.rss.atRest)} MB (seeded ${f1(r.rss.afterSeed)}, loaded ${f1(r.rss.afterLoad)})`,
      met: Number.isFinite(r.rss.atRest) ? r.rss.atRest <= max : undefined,
    });
    // "Flat" made a number: under 0.5 MB/min of least-squares growth over the soak.
    out.push({
      goal: `RSS flat under load, slope <= 0.5 MB/min (${label(r)})`,
      measured: r.soak ? `${f2(r.soak.slopeMbPerMin)} MB/min over ${opts.soak} s` : 'no soak (--soak 300)',
      met: r.soak ? r.soak.slopeMbPerMin <= 0.5 : undefined,
    });
  }
  for (const r of results) {
    const warm = median(r.warmStartMs);
    out.push({
      goal: `warm start to ready <= 2 s (${label(r)})`,
      measured: r.warmStartMs.length ? `${sec(warm)} (median of ${r.warmStartMs.length})` : 'not run (--starts 0)',
      met: r.warmStartMs.length ? warm <= 2000 : undefined,
    });
  }
  if (emb) {
    const first = median(emb.firstStartMs);
    out.push({
      goal: 'first start on the embedded database <= 6 s',
      measured: emb.firstStartMs.length ? `${sec(first)} (median of ${emb.firstStartMs.length})` : 'not run',
      met: emb.firstStartMs.length ? first <= 6000 : undefined,
    });
  }
  if (pgr?.firstStartMs.length) {
    out.push({
      goal: 'first start on an empty PostgreSQL database (no goal)',
      measured: sec(median(pgr.firstStartMs)),
      met: undefined,
    });
  }
  return out;
}

// One database target: start times, one server process, seeding, interleaved rounds, the storm, RSS, soak.
import { fileURLToPath } from 'node:url';
import { type Driver, type LoadSpec, load } from './load.js';
import { rssMb, runToEnd, sleep } from './processes.js';
import { type RampartProcess, type Target, startRampart, startTimes } from './rampart.js';
import { f1, f2, isValid, median, medianLine, type RoundFigure, roundLine, sec, slope } from './report.js';
import { PASSWORD, seed } from './seed.js';
import type { Options } from './args.js';

const argon2Child = fileURLToPath(new URL('./argon2-rate.mjs', import.meta.url));
const probeChild = fileURLToPath(new URL('./probe.mjs', import.meta.url));

const REST_MS = 30_000;

export interface StormRound {
  signIns: LoadSpecResult;
  argon2PerSecond: number;
  ratio: number;
  idleP99: number;
  stormP99: number;
  valid: boolean;
}
type LoadSpecResult = Awaited<ReturnType<typeof load>>;
interface Probe {
  count: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface TargetResult {
  kind: Target['kind'];
  firstStartMs: number[];
  warmStartMs: number[];
  rss: { afterStart: number; afterSeed: number; afterLoad: number; atRest: number };
  soak?: { points: Array<{ x: number; y: number }>; slopeMbPerMin: number };
  routes: Record<'healthz' | 'me' | 'apiKey', ReturnType<typeof medianLine>>;
  storm: { valid: boolean; signInsPerSecond: number; ratio: number; idleP99: number; stormP99: number };
}

const ROUTES = [
  ['healthz', 'Rampart GET /healthz'],
  ['me', 'GET /api/v1/me (session cookie)'],
  ['apiKey', 'API-key read (GET members)'],
] as const;

async function probe(url: string, seconds: number): Promise<Probe> {
  return JSON.parse(await runToEnd(process.execPath, [probeChild, url, String(seconds)])) as Probe;
}

async function argon2Rate(seconds: number): Promise<number> {
  const out = JSON.parse(await runToEnd(process.execPath, [argon2Child, String(seconds), '2'])) as {
    perSecond: number;
  };
  return out.perSecond;
}

export async function benchTarget(target: Target, bareUrl: string, opts: Options): Promise<TargetResult> {
  const { duration, connections } = opts;
  const driver: Driver = opts.driver;
  console.log(`\n## ${target.kind === 'embedded' ? 'embedded database (PGlite)' : 'PostgreSQL + Redis'}`);

  let firstStartMs: number[] = [];
  let warmStartMs: number[] = [];
  let env: Record<string, string>;
  if (opts.starts > 0) {
    const times = await startTimes(target, opts.starts);
    firstStartMs = times.first;
    warmStartMs = times.warm;
    env = times.env;
    const empty = target.kind === 'embedded' ? 'data dir' : 'database';
    console.log(
      `start to ready (spawn to GET /healthz 200): first start on an empty ${empty} ` +
        `${firstStartMs.map(sec).join(', ')} (median ${sec(median(firstStartMs))}); warm start ` +
        `${warmStartMs.map(sec).join(', ')} (median ${sec(median(warmStartMs))})`,
    );
  } else {
    env = await target.fresh();
  }

  const server: RampartProcess = await startRampart(target, env);
  try {
    await sleep(1000);
    const afterStart = rssMb(server.pid);
    const origin = `http://localhost:${server.port}`;
    const seeded = await seed(server.base, origin, opts.accounts + 1);
    const stormEmails = seeded.emails.slice(1); // the first account keeps its session for /api/v1/me
    await sleep(1000);
    const afterSeed = rssMb(server.pid);
    console.log(
      `seeded over HTTP: ${seeded.emails.length} verified accounts, 1 organization, 1 API key; ` +
        `RSS ${f1(afterStart)} MB idle after start, ${f1(afterSeed)} MB idle after seeding (pid ${server.pid})`,
    );

    const spec = (route: (typeof ROUTES)[number][0]): LoadSpec => {
      const base = { method: 'GET' as const, connections, duration, headers: {} };
      if (route === 'healthz') return { ...base, url: `${server.base}/healthz` };
      if (route === 'me') return { ...base, url: `${server.base}/api/v1/me`, headers: { cookie: seeded.cookie } };
      return {
        ...base,
        url: `${server.base}/api/v1/orgs/${seeded.orgId}/members`,
        headers: { authorization: `Bearer ${seeded.apiKey}` },
      };
    };
    const bare: LoadSpec = { method: 'GET', url: bareUrl, headers: {}, connections, duration };
    const storm = (): LoadSpec => ({
      method: 'POST',
      url: `${server.base}/api/v1/signin`,
      headers: { 'content-type': 'application/json', origin },
      bodies: stormEmails.map((email) => JSON.stringify({ email, password: PASSWORD })),
      spreadOctet: 1 + Math.floor(Math.random() * 254),
      connections,
      duration,
    });

    // Warm-up, not counted: JIT, pools, caches of both processes.
    const warm = Math.min(3, duration);
    for (const s of [bare, spec('healthz'), spec('me'), spec('apiKey')]) await load(driver, { ...s, duration: warm });

    const figs: Record<string, RoundFigure[]> = { bare: [], healthz: [], me: [], apiKey: [] };
    const storms: StormRound[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      console.log(`round ${round} of ${opts.rounds} (${driver}, ${connections} connections, ${duration} s each)`);
      const bareResult = await load(driver, bare);
      figs.bare!.push({ result: bareResult, ratio: 1, valid: isValid(bareResult) });
      console.log(roundLine('bare Fastify {ok:true}', figs.bare!.at(-1)!));
      for (const [route, label] of ROUTES) {
        const result = await load(driver, spec(route));
        const fig = { result, ratio: result.rps / bareResult.rps, valid: isValid(result) };
        figs[route]!.push(fig);
        console.log(roundLine(label, fig));
      }
      storms.push(await stormRound(driver, server.base, storm(), duration));
      const s = storms.at(-1)!;
      console.log(
        roundLine(
          `POST /api/v1/signin (${stormEmails.length} accounts)`,
          {
            result: s.signIns,
            ratio: s.ratio,
            valid: s.valid,
          },
          `x argon2 2-thread (${f1(s.argon2PerSecond)}/s)`,
        ),
      );
      console.log(
        `  ${'GET /healthz p99 idle / in storm'.padEnd(34)}${f2(s.idleP99)} ms / ${f2(s.stormP99)} ms = ` +
          `${f2(s.stormP99 / s.idleP99)} x idle`,
      );
    }
    await sleep(2000);
    const afterLoad = rssMb(server.pid);

    console.log(`medians over ${opts.rounds} round(s):`);
    console.log(medianLine('bare Fastify {ok:true}', figs.bare!).line);
    const routes = {} as TargetResult['routes'];
    for (const [route, label] of ROUTES) {
      routes[route] = medianLine(label, figs[route]!);
      console.log(routes[route].line);
    }
    const stormValid = storms.every((s) => s.valid);
    const stormSummary = {
      valid: stormValid,
      signInsPerSecond: median(storms.map((s) => s.signIns.rps)),
      ratio: median(storms.map((s) => s.ratio)),
      idleP99: median(storms.map((s) => s.idleP99)),
      stormP99: median(storms.map((s) => s.stormP99)),
    };
    console.log(
      stormValid
        ? `  ${'sign-in storm'.padEnd(34)}${f1(stormSummary.signInsPerSecond)} sign-ins/s = ` +
            `${f2(stormSummary.ratio)} x argon2 two-thread (${f1(median(storms.map((s) => s.argon2PerSecond)))}/s); ` +
            `/healthz p99 ${f2(stormSummary.stormP99)} ms in the storm vs ${f2(stormSummary.idleP99)} ms idle`
        : `  ${'sign-in storm'.padEnd(34)}INVALID: ${storms.filter((s) => !s.valid).length} of ${storms.length} ` +
            'round(s) had other answers',
    );
    // Idle means at rest: what a server holds once the garbage of the load is collected and freed.
    await sleep(REST_MS);
    const atRest = rssMb(server.pid);
    console.log(`RSS after the load: ${f1(afterLoad)} MB; after ${REST_MS / 1000} s at rest: ${f1(atRest)} MB`);

    let soak: TargetResult['soak'];
    if (opts.soak > 0) soak = await soakRun(driver, server, [spec('me'), spec('apiKey'), spec('healthz')], opts.soak);
    return {
      kind: target.kind,
      firstStartMs,
      warmStartMs,
      rss: { afterStart, afterSeed, afterLoad, atRest },
      soak,
      routes,
      storm: stormSummary,
    };
  } finally {
    await server.stop();
  }
}

/** The raw argon2 rate (nothing else running), /healthz p99 idle, then the storm with the same probe beside it. */
async function stormRound(driver: Driver, base: string, spec: LoadSpec, duration: number): Promise<StormRound> {
  const argon2PerSecond = await argon2Rate(Math.min(5, duration));
  const probeSeconds = Math.max(1, duration - 1);
  const idle = await probe(`${base}/healthz`, probeSeconds);
  const [signIns, during] = await Promise.all([
    load(driver, spec),
    sleep(500).then(() => probe(`${base}/healthz`, probeSeconds)),
  ]);
  const valid = isValid(signIns) && idle.non2xx + idle.errors + during.non2xx + during.errors === 0;
  return {
    signIns,
    argon2PerSecond,
    ratio: signIns.rps / argon2PerSecond,
    idleP99: idle.p99,
    stormP99: during.p99,
    valid,
  };
}

/** `seconds` of load in 10 s pieces (the routes in turn), RSS before and after each piece. */
async function soakRun(driver: Driver, server: RampartProcess, specs: LoadSpec[], seconds: number) {
  console.log(`soak: ${seconds} s of load (${specs.length} routes in turn, 10 s each), RSS every 10 s`);
  const started = Date.now();
  const points = [{ x: 0, y: rssMb(server.pid) }];
  let other = 0;
  let requests = 0;
  for (let i = 0; (Date.now() - started) / 1000 < seconds; i++) {
    const left = Math.ceil(seconds - (Date.now() - started) / 1000);
    const r = await load(driver, { ...specs[i % specs.length]!, duration: Math.min(10, Math.max(1, left)) });
    other += r.non2xx + r.errors;
    requests += r.requests;
    points.push({ x: (Date.now() - started) / 60_000, y: rssMb(server.pid) });
  }
  console.log(`  ${requests} requests, ${other} non-2xx or errors${other > 0 ? ' (INVALID load)' : ''}`);
  const slopeMbPerMin = slope(points);
  console.log(
    `  RSS MB: ${points.map((p) => f1(p.y)).join(' ')}\n  least-squares slope ${f2(slopeMbPerMin)} MB/min ` +
      `over ${f1(points.at(-1)!.x)} min`,
  );
  return { points, slopeMbPerMin };
}

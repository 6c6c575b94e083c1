// The load driver: wrk when installed (`wrk -t2 -c<C> -d<N>s`, with a generated Lua script where a route needs
// headers, a body or spread addresses), else autocannon in a child process. Never in the bench's own process.
import { accessSync, constants, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './processes.js';
import { tempDir } from './rampart.js';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Request bodies, taken in turn (the sign-in storm rotates its accounts). */
  bodies?: string[];
  /** Give each request its own X-Forwarded-For address 10.<octet>.x.y (per-address sign-in limits). */
  spreadOctet?: number;
  connections: number;
  duration: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Answers outside 2xx (wrk: status ≥ 400, the only ones it counts). */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  errors: number;
}

export type Driver = 'wrk' | 'autocannon';

export function wrkInstalled(): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      accessSync(path.join(dir, 'wrk'), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

export function load(driver: Driver, spec: LoadSpec): Promise<LoadResult> {
  return driver === 'wrk' ? wrk(spec) : autocannon(spec);
}

const autocannonChild = fileURLToPath(new URL('./autocannon-child.mjs', import.meta.url));

async function autocannon(spec: LoadSpec): Promise<LoadResult> {
  const out = JSON.parse(await runToEnd(process.execPath, [autocannonChild, JSON.stringify(spec)])) as Omit<
    LoadResult,
    'rps'
  > & { seconds: number };
  return { ...out, rps: out.requests / out.seconds };
}

let scripts: string | undefined;
let scriptCount = 0;

async function wrk(spec: LoadSpec): Promise<LoadResult> {
  scripts ??= tempDir('wrk');
  const script = path.join(scripts, `route-${++scriptCount}.lua`);
  writeFileSync(script, luaScript(spec));
  const out = await runToEnd('wrk', [
    '-t2',
    `-c${spec.connections}`,
    `-d${spec.duration}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    spec.url,
  ]);
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary: ${out}`);
  const s = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
  return {
    requests: s.requests!,
    rps: s.requests! / (s.duration_us! / 1e6),
    p50: s.p50_us! / 1000,
    p99: s.p99_us! / 1000,
    non2xx: s.status!,
    errors: s.connect! + s.read! + s.write! + s.timeout!,
  };
}

const lua = (s: string) => {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`not plain ASCII, cannot go into a Lua string: ${s}`);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
};

/** The Lua script of one route: static requests are prebuilt by wrk; rotating ones are formatted per request. */
export function luaScript(spec: LoadSpec): string {
  const headers = Object.entries(spec.headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`);
  const lines = [
    'local counter = 0',
    'function setup(thread)',
    '  thread:set("tid", counter)',
    '  counter = counter + 1',
    'end',
    `wrk.method = ${lua(spec.method)}`,
    ...Object.entries(spec.headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
  ];
  if (spec.bodies || spec.spreadOctet !== undefined) {
    lines.push(
      `local bodies = { ${(spec.bodies ?? []).map(lua).join(', ')} }`,
      'local n = 0',
      'function request()',
      '  n = n + 1',
      `  local headers = { ${headers.join(', ')} }`,
    );
    if (spec.spreadOctet !== undefined) {
      // Thread 0 takes 10.o.0-127.y, thread 1 10.o.128-255.y: every request from its own address.
      lines.push(
        `  headers["X-Forwarded-For"] = string.format("10.${spec.spreadOctet}.%d.%d", tid * 128 + ` +
          'math.floor(n / 254) % 128, n % 254 + 1)',
      );
    }
    // Both threads interleave over the bodies, so each account has about connections / #bodies in flight.
    lines.push(
      '  local body = nil',
      '  if #bodies > 0 then body = bodies[(2 * n + tid) % #bodies + 1] end',
      '  return wrk.format(nil, nil, headers, body)',
      'end',
    );
  }
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status":%d,\' ..',
    '    \'"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n\', summary.requests, summary.duration,',
    '    latency:percentile(50), latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

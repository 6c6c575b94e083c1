import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TestApp } from './app.js';

export interface SocketResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Real concurrency: the app listens on loopback and every request is its own TCP connection from
 * its own loopback source address (the whole 127/8 is local on Linux), as a botnet's would be.
 */
export async function listening(t: TestApp): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}

/** The n-th source address of a test (n < 65 536): 127.<block>.<n / 254>.<n % 254 + 1>. */
export const sourceAddress = (block: number, n: number) => `127.${block}.${Math.floor(n / 254)}.${(n % 254) + 1}`;

export interface Request {
  method?: string;
  path: string;
  from: string;
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export function send(base: string, opts: Request, agent: http.Agent | false = false): Promise<SocketResponse> {
  const url = new URL(opts.path, base);
  const headers: Record<string, string> = { origin: 'http://localhost:3000', ...opts.headers };
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: opts.method ?? 'POST',
        headers,
        localAddress: opts.from,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends the requests at the same moment: each source address first opens its connection (a GET of
 * /healthz on a keep-alive socket), then every request goes out on its open socket at once, so the
 * burst reaches the server within milliseconds even on a loaded machine. `seconds`: from the first
 * request sent to the last answer.
 */
export async function sendAtOnce(
  base: string,
  requests: Request[],
): Promise<{ answers: SocketResponse[]; seconds: number }> {
  const agents = requests.map((r) => new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: r.from }));
  try {
    await Promise.all(
      requests.map((r, i) => send(base, { method: 'GET', path: '/healthz', from: r.from }, agents[i]!)),
    );
    const started = performance.now();
    const answers = await Promise.all(requests.map((r, i) => send(base, r, agents[i]!)));
    return { answers, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/**
 * How many attempts a backoff of 5 free, then 1 s, 2 s, 4 s, … lets through in `seconds`: the free
 * ones and one more at once, then one more each time a block has run out. A burst that reaches the
 * server within a second gets exactly 6.
 */
export const checkedAtMost = (seconds: number) => 6 + Math.floor(Math.log2(1 + seconds));

/** Status → how many times it was answered. */
export function tally(responses: SocketResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** The cookie a response set, as `name=value`. */
export function cookieFrom(res: SocketResponse, name: string): string | undefined {
  return [res.headers['set-cookie'] ?? []]
    .flat()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];
}

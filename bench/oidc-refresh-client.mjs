// Child process of oidc-refresh.bench.ts: drives the load, so the server under test never shares an event loop
// with the client. Input: one JSON document on stdin; output: JSON on stdout.
//
// Phases alternate (refresh, session check, refresh, ...) so drift in the machine's load hits both alike:
// - refresh: one chain per grant, each redeeming its current refresh token at the token endpoint and carrying on
//   with the one the answer rotates to (so a chain is sequential; the chains run at once);
// - session check: as many loops, each asking GET /api/v1/me with its person's session cookie.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const input = JSON.parse(
  await new Promise((resolve) => {
    let data = '';
    process.stdin.on('data', (c) => (data += c));
    process.stdin.on('end', () => resolve(data));
  }),
);
const url = new URL(input.base);
// RFC 6749 §2.3.1: id and secret are form-encoded before Basic's base64.
const basic = `Basic ${Buffer.from(
  `${encodeURIComponent(input.clientId)}:${encodeURIComponent(input.clientSecret)}`,
).toString('base64')}`;

function send(agent, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const refreshTokens = [...input.refreshTokens];
/** Chains whose token was refused: presenting it again would be a reuse, which ends the person's session. */
const ended = new Set();
const totals = {
  refresh: { count: 0, seconds: 0, samples: [], statuses: {}, chainsEnded: 0 },
  session: { count: 0, seconds: 0, samples: [], statuses: {} },
};

const fresh = () => ({ count: 0, seconds: 0, samples: [], statuses: {}, chainsEnded: 0 });

/** `counted`: into the totals; otherwise a warm-up (the same requests, not reported). */
async function phase(kind, seconds, counted = true) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: input.concurrency });
  const total = counted ? totals[kind] : fresh();
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: input.concurrency }, async (_, i) => {
      while (performance.now() < end && !(kind === 'refresh' && ended.has(i))) {
        const res =
          kind === 'refresh'
            ? await send(
                agent,
                'POST',
                '/oidc/token',
                { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
                new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshTokens[i] }).toString(),
              )
            : await send(agent, 'GET', '/api/v1/me', { cookie: input.cookies[i] });
        total.statuses[res.status] = (total.statuses[res.status] ?? 0) + 1;
        if (res.status !== 200) {
          if (kind === 'refresh') {
            total.chainsEnded++;
            ended.add(i);
            process.stderr.write(`refresh chain ${i} ended: ${res.status} ${res.body.slice(0, 200)}\n`);
            return; // its refresh token is spent or refused: the chain cannot go on
          }
          continue;
        }
        if (kind === 'refresh') {
          const next = JSON.parse(res.body).refresh_token;
          if (typeof next !== 'string' || next === refreshTokens[i])
            throw new Error('the refresh token did not rotate');
          refreshTokens[i] = next;
        }
        total.count++;
        total.samples.push(res.ms);
      }
    }),
  );
  total.seconds += (performance.now() - started) / 1000;
  agent.destroy();
}

await phase('refresh', input.warmupSeconds, false);
await phase('session', input.warmupSeconds, false);
for (let round = 0; round < input.rounds; round++) {
  await phase('refresh', input.seconds);
  await phase('session', input.seconds);
}

const summary = (t) => {
  const s = t.samples.sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  const { samples: _, ...rest } = t;
  return { ...rest, perSecond: t.count / t.seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
};
process.stdout.write(JSON.stringify({ refresh: summary(totals.refresh), session: summary(totals.session) }));

// Child process of account-timing.bench.ts: sends the requests and times them, so the server under
// test never shares an event loop with the client. Input: one JSON line on stdin; output: JSON.
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
let n = 0;
// Each request from its own loopback address: per-IP limits must not decide the answer.
const nextAddress = () => {
  n++;
  return `127.${60 + Math.floor(n / 65_000)}.${Math.floor((n % 65_000) / 254)}.${(n % 254) + 1}`;
};

function timed(path, body) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const started = performance.now();
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        localAddress: nextAddress(),
        agent: false,
        headers: { 'content-type': 'application/json', origin: input.origin },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const results = {};
for (const flow of input.flows) {
  const samples = { existing: [], unknown: [], statuses: {} };
  // Interleaved in a shuffled order, so drift in the machine's load hits both sides alike.
  const order = [...flow.existing.map((b) => ['existing', b]), ...flow.unknown.map((b) => ['unknown', b])].sort(
    () => Math.random() - 0.5,
  );
  for (let i = 0; i < Math.min(10, order.length); i++) await timed(flow.path, order[i][1]); // warm-up, not counted
  for (const [side, body] of order) {
    const { ms, status } = await timed(flow.path, body);
    samples[side].push(ms);
    samples.statuses[`${side} ${status}`] = (samples.statuses[`${side} ${status}`] ?? 0) + 1;
  }
  results[flow.name] = samples;
}
process.stdout.write(JSON.stringify(results));

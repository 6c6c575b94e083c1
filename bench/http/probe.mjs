// Child process: a light probe of GET <url>, one request at a time with a 10 ms pause, for SECONDS; prints
// {count, p50, p99, non2xx, errors} (ms). Used for the p99 of /healthz while idle and during the sign-in storm.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let non2xx = 0;
let errors = 0;

const once = () =>
  new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });

const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  const t = performance.now();
  const status = await once();
  samples.push(performance.now() - t);
  if (status === 0) errors++;
  else if (status < 200 || status > 299) non2xx++;
  await new Promise((r) => setTimeout(r, 10));
}
agent.destroy();
samples.sort((a, b) => a - b);
const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
process.stdout.write(JSON.stringify({ count: samples.length, p50: at(0.5), p99: at(0.99), non2xx, errors }));

// Worker thread for the auth benchmark: bursts of 50 concurrent password sign-ins, each from its own
// loopback address (per-IP limits), on its own event loop so the load generator does not compete
// with the server being measured.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { base, email, password, origin } = workerData;
const url = new URL(base);
let running = true;
let bursts = 0;
parentPort.on('message', (m) => {
  if (m === 'stop') running = false;
});

function signIn(localAddress) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ email, password });
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/api/v1/signin',
        localAddress,
        headers: { 'content-type': 'application/json', origin },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const statuses = {};
while (running) {
  bursts++;
  const codes = await Promise.all(Array.from({ length: 50 }, (_, i) => signIn(`127.0.${bursts % 250}.${i + 2}`)));
  for (const c of codes) statuses[c] = (statuses[c] ?? 0) + 1;
}
parentPort.postMessage({ bursts, statuses });

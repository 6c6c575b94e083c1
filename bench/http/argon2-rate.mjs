// Child process: the raw verify rate of the `argon2` package at OWASP parameters (Argon2id m=19456, t=2, p=1),
// two verifies at a time (two threads of libuv's pool) for SECONDS; prints {perSecond, verifies, seconds}.
import { performance } from 'node:perf_hooks';
import argon2 from 'argon2';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 2);
const params = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const password = 'vivid otter pencil marble';
const hash = await argon2.hash(password, params);
await argon2.verify(hash, password); // warm-up

let verifies = 0;
const started = performance.now();
const end = started + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      if (!(await argon2.verify(hash, password))) throw new Error('verify failed');
      verifies++;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ perSecond: verifies / elapsed, verifies, seconds: elapsed }));

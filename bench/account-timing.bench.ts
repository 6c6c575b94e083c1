import { spawn } from 'node:child_process';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { account, instance, ORIGIN, PASSWORD } from './setup.js';

/**
 * A1/A2/A3: does the response time tell whether an account exists? For a password reset, a magic
 * link and a wrong password, requests for existing and for unknown addresses are interleaved (from
 * a separate process, each from its own address) and their medians compared: the ratio should be
 * near 1 and the Mann-Whitney p-value not small.
 */
const TRIES = 80;
const GUESSES_PER_ACCOUNT = 4; // under the free attempts, so no answer is a 429

export async function run(): Promise<void> {
  const db = await createTestDatabase();
  const server = await instance(db, generateMasterKeyEntry(1));
  try {
    const stamp = Date.now();
    const accounts = Array.from(
      { length: Math.ceil(TRIES / GUESSES_PER_ACCOUNT) },
      (_, i) => `timing.${stamp}.${i}@example.com`,
    );
    for (const email of accounts) await account(db, server.base, email);
    const unknown = (i: number) => `nobody.${stamp}.${i}@example.com`;
    const existing = (i: number) => accounts[Math.floor(i / GUESSES_PER_ACCOUNT)]!;
    const flows = [
      { name: 'password reset', path: '/api/v1/password-resets', body: (email: string) => ({ email }) },
      { name: 'magic link', path: '/api/v1/magic-links', body: (email: string) => ({ email }) },
      {
        name: 'sign-in, wrong password',
        path: '/api/v1/signin',
        body: (email: string) => ({ email, password: `not ${PASSWORD}` }),
      },
    ].map((f) => ({
      name: f.name,
      path: f.path,
      existing: Array.from({ length: TRIES }, (_, i) => f.body(existing(i))),
      unknown: Array.from({ length: TRIES }, (_, i) => f.body(unknown(i))),
    }));
    const results = await client({ base: server.base, origin: ORIGIN, flows });
    console.log(
      `response time, existing vs unknown address (${TRIES} interleaved tries each, ${db.kind}, Argon2id OWASP ` +
        `parameters)`,
    );
    for (const [name, r] of Object.entries(results)) {
      const [a, b] = [median(r.existing), median(r.unknown)];
      console.log(
        `${name}: existing median ${a.toFixed(2)} ms, unknown median ${b.toFixed(2)} ms; ratio ` +
          `${(a / b).toFixed(3)}; Mann-Whitney p = ${mannWhitneyP(r.existing, r.unknown).toPrecision(2)}  ` +
          `${JSON.stringify(r.statuses)}`,
      );
    }
  } finally {
    await server.close();
    await db.dispose();
  }
}

type Samples = Record<string, { existing: number[]; unknown: number[]; statuses: Record<string, number> }>;

function client(input: unknown): Promise<Samples> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./timing-client.mjs', import.meta.url).pathname], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Samples) : reject(new Error(`timing client exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(input));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction). */
export function mannWhitneyP(a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const [n1, n2] = [a.length, b.length];
  const r1 = all.reduce((sum, x, i) => (x.g === 0 ? sum + ranks[i]! : sum), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (Math.abs(u - (n1 * n2) / 2) - 0.5) / sigma;
  return Math.min(1, 2 * (1 - normalCdf(z)));
}

function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 for erf (x ≥ 0, mirrored); plenty for a p-value.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return 0.5 * (1 + Math.sign(z) * erf);
}

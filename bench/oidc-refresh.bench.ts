import { spawn } from 'node:child_process';
import * as oidc from 'openid-client';
import pg from 'pg';
import { createRampartClient } from '../packages/node/src/index.js';
import { createClientRegistry } from '../src/oidc/clients.js';
import { systemClock } from '../src/platform/clock.js';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { TestClient } from '../test/helpers/client.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { account, instance } from './setup.js';

/**
 * A10/S3, issue 13 "Measured": refresh grants per second at the token endpoint against the session-check route
 * (GET /api/v1/me with a session cookie, the HTTP bench's) in the same run, at the same concurrency, from a separate
 * process. Each chain is one person's grant (code + PKCE through Rampart's sign-in, for a confidential client
 * registered in the registry, as `rampart clients add` does); a refresh rotates the token, so a chain redeems one
 * at a time and the chains run at once. Figures: docs/performance.md.
 *
 * Environment: BENCH_OIDC_CHAINS (concurrency, 16), BENCH_OIDC_SECONDS (per phase, 5), BENCH_OIDC_ROUNDS (3).
 */
const CHAINS = Number(process.env.BENCH_OIDC_CHAINS ?? 16);
const SECONDS = Number(process.env.BENCH_OIDC_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_OIDC_ROUNDS ?? 3);
const REDIRECT = 'https://product.example/callback';
const CLIENT_ID = 'bench-product';

interface PhaseResult {
  count: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
  chainsEnded?: number;
}

export async function run(): Promise<void> {
  const db = await createTestDatabase();
  const server = await instance(db, generateMasterKeyEntry(1));
  try {
    // The issuer is Rampart's public URL (the dev default); the server listens elsewhere, as behind a proxy.
    const discovery = await fetch(`${server.base}/.well-known/openid-configuration`);
    const issuer = ((await discovery.json()) as { issuer: string }).issuer;
    const registry = createClientRegistry({ db, clock: systemClock, secretKey: Buffer.alloc(32), dev: true });
    const { secret } = await registry.add({
      clientId: CLIENT_ID,
      name: 'Bench Product',
      confidential: true,
      redirectUris: [REDIRECT],
      firstParty: true,
    });
    const toServer = (url: string) => url.replace(issuer, server.base);
    const config = await oidc.discovery(
      new URL(issuer),
      CLIENT_ID,
      { client_secret: secret! },
      oidc.ClientSecretBasic(secret!),
      {
        execute: [oidc.allowInsecureRequests],
        [oidc.customFetch]: (url, init) => fetch(toServer(url), init as RequestInit),
      },
    );

    const stamp = Date.now();
    const cookies: string[] = [];
    const refreshTokens: string[] = [];
    for (let i = 0; i < CHAINS; i++) {
      const cookie = await account(db, server.base, `refresh.${stamp}.${i}@example.com`);
      const sessionToken = cookie.slice(cookie.indexOf('=') + 1);
      // An organization, so the tokens carry org_id, role and permissions, as a product's do.
      await createRampartClient({ baseUrl: server.base, auth: { sessionToken } }).request('POST', '/api/v1/orgs', {
        body: { name: `Bench ${i}` },
      });
      const browser = new TestClient(server.app);
      browser.cookies.set('__Host-rampart_session', sessionToken);
      const tokens = await codeFlow(browser, config, issuer);
      if (!tokens.refresh_token) throw new Error('no refresh token issued');
      cookies.push(cookie);
      refreshTokens.push(tokens.refresh_token);
    }

    // What one of each costs, serially before the load: statements the server sends to PostgreSQL (counted at the
    // driver), wall time, and CPU time of this process (the server's, plus the small fetch client's).
    const pair = `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(secret!)}`;
    const basic = `Basic ${Buffer.from(pair).toString('base64')}`;
    const serial = {
      refresh: await costOf(20, async () => {
        const res = await fetch(`${server.base}/oidc/token`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshTokens[0]! }),
        });
        if (res.status !== 200) throw new Error(`refresh answered ${res.status}: ${await res.text()}`);
        refreshTokens[0] = ((await res.json()) as { refresh_token: string }).refresh_token;
      }),
      session: await costOf(20, async () => {
        const res = await fetch(`${server.base}/api/v1/me`, { headers: { cookie: cookies[0]! } });
        if (res.status !== 200) throw new Error(`session check answered ${res.status}`);
        await res.arrayBuffer();
      }),
    };

    const result = await load({
      base: server.base,
      clientId: CLIENT_ID,
      clientSecret: secret,
      refreshTokens,
      cookies,
      concurrency: CHAINS,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: 1,
    });
    const events = process.env.REDIS_URL ? 'redis' : db.url ? 'postgres' : 'memory';
    const fmt = (r: PhaseResult) =>
      `${r.perSecond.toFixed(0)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.count} in ` +
      `${r.seconds.toFixed(1)} s, statuses ${JSON.stringify(r.statuses)}`;
    const valid =
      Object.keys(result.refresh.statuses).every((s) => s === '200') &&
      Object.keys(result.session.statuses).every((s) => s === '200');
    console.log(
      `token endpoint vs session check on ${db.kind} (events: ${events}), ${CHAINS} concurrent chains / loops, ` +
        `${ROUNDS} interleaved rounds of ${SECONDS} s each, load from a separate process`,
    );
    const ended = result.refresh.chainsEnded ? ` (${result.refresh.chainsEnded} chains ended early)` : '';
    console.log(`  refresh_token grants (rotating): ${fmt(result.refresh)}${ended}`);
    console.log(`  GET /api/v1/me (session cookie): ${fmt(result.session)}`);
    const [x, y] = [result.refresh.perSecond, result.session.perSecond];
    console.log(
      `oidc refresh grants/s ${x.toFixed(0)} · session check req/s ${y.toFixed(0)} · ratio ${(x / y).toFixed(3)}` +
        (valid ? '' : '  INVALID: answers other than 200 (see the statuses)'),
    );
    const cost = (c: Cost) =>
      `${c.wallMs.toFixed(1)} ms wall, ${c.cpuMs.toFixed(1)} ms CPU` +
      (db.kind === 'postgres' ? `, ${c.statements.toFixed(1)} SQL statements` : '');
    console.log(`  one at a time: refresh grant ${cost(serial.refresh)}; session check ${cost(serial.session)}`);
  } finally {
    await server.close();
    await db.dispose();
  }
}

interface Cost {
  wallMs: number;
  cpuMs: number;
  statements: number;
}

/**
 * Per call of `op`, run `n` times one after the other: wall time, CPU time of this process (the server is in it),
 * and the statements it sends to PostgreSQL (`pg.Client#query` counted, work after the answer included).
 */
async function costOf(n: number, op: () => Promise<void>): Promise<Cost> {
  await op(); // warm
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let statements = 0;
  proto.query = function counted(this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
  try {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i++) await op();
    const wallMs = (performance.now() - started) / n;
    const used = process.cpuUsage(cpu);
    await new Promise((r) => setTimeout(r, 300));
    return { wallMs, cpuMs: (used.user + used.system) / 1000 / n, statements: statements / n };
  } finally {
    proto.query = original;
  }
}

/** Where a response sends the browser: a redirect, or the Refresh header of Rampart's "continue" page. */
function next(res: { statusCode: number; headers: Record<string, unknown> }): string | undefined {
  if (res.statusCode >= 300 && res.statusCode < 400) return String(res.headers.location);
  return typeof res.headers.refresh === 'string' ? res.headers.refresh.replace(/^0; url=/, '') : undefined;
}

/** Authorization code + PKCE: Rampart's pages driven as a signed-in browser would, then the code redeemed. */
async function codeFlow(browser: TestClient, config: oidc.Configuration, issuer: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email org',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  let res = await browser.page(url.pathname + url.search);
  for (let i = 0; i < 10; i++) {
    const location = next(res);
    if (location === undefined) break;
    if (location.startsWith(REDIRECT)) {
      return oidc.authorizationCodeGrant(config, new URL(location), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
    }
    const to = new URL(location, issuer);
    res = await browser.page(to.pathname + to.search);
  }
  throw new Error(`the authorization did not come back to the product: ${res.statusCode} ${res.body.slice(0, 300)}`);
}

function load(input: Record<string, unknown>): Promise<{ refresh: PhaseResult; session: PhaseResult }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./oidc-refresh-client.mjs', import.meta.url).pathname], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`oidc refresh load client exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(input));
  });
}

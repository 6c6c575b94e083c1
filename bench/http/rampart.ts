// Rampart as a separate process (`node dist/cli.js start`), its data dir, and a fresh PostgreSQL database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type Child, freePort, onCleanup, releasePort, start, waitFor200 } from './processes.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli.js');
/** High enough that the per-key limiter (and its per-address twin, ×2) never refuses during a run. */
export const API_KEY_RATE_LIMIT = 1_000_000;
const READY_TIMEOUT_MS = 300_000;

export interface Target {
  /** 'embedded' or 'postgres'. */
  kind: 'embedded' | 'postgres';
  /** Environment of every server start on this target (DATABASE_URL, REDIS_URL or nothing). */
  env: Record<string, string>;
  /** A data dir / database that no server has started on yet (for the first-start timing). */
  fresh(): Promise<Record<string, string>>;
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `rampart-bench-${label}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function embeddedTarget(): Target {
  return { kind: 'embedded', env: {}, fresh: async () => ({ RAMPART_DATA_DIR: tempDir('data') }) };
}

/** A fresh database on the server of `ownerUrl` per call, dropped at cleanup (as test/helpers/database.ts does). */
export function postgresTarget(ownerUrl: string, redisUrl: string | undefined): Target {
  const fresh = async () => {
    const name = `rampart_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ownerUrl });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    onCleanup(async () => {
      const c = new pg.Client({ connectionString: ownerUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    });
    const url = new URL(ownerUrl);
    url.pathname = `/${name}`;
    return { DATABASE_URL: url.toString(), RAMPART_DATA_DIR: tempDir('pgkeys') };
  };
  return { kind: 'postgres', env: redisUrl ? { REDIS_URL: redisUrl } : {}, fresh };
}

export interface RampartProcess {
  base: string;
  port: number;
  pid: number;
  /** Spawn to the first 200 of GET /healthz, in ms. */
  readyMs: number;
  child: Child;
  stop(): Promise<void>;
}

/** Starts `node dist/cli.js start` with the bench's environment and waits for /healthz to answer 200. */
export async function startRampart(target: Target, env: Record<string, string>): Promise<RampartProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = start(process.execPath, [CLI, 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      PORT: String(port),
      HOST: '127.0.0.1',
      RAMPART_DEV: 'true',
      LOG_LEVEL: 'warn',
      RAMPART_API_KEY_RATE_LIMIT: String(API_KEY_RATE_LIMIT),
      // The sign-in storm spreads its addresses with X-Forwarded-For, from the load generator on loopback.
      RAMPART_TRUSTED_PROXIES: '127.0.0.1',
      ...target.env,
      ...env,
    },
  });
  try {
    await waitFor200(`${base}/healthz`, child, READY_TIMEOUT_MS);
  } catch (err) {
    await child.stop();
    releasePort(port);
    throw err;
  }
  const readyMs = performance.now() - started;
  return {
    base,
    port,
    pid: child.pid,
    readyMs,
    child,
    async stop() {
      await child.stop();
      releasePort(port);
    },
  };
}

/** First starts (each on an empty data dir / database) and warm starts (on the last of them), `runs` each. */
export async function startTimes(target: Target, runs: number) {
  const first: number[] = [];
  const warm: number[] = [];
  let env: Record<string, string> = {};
  for (let i = 0; i < runs; i++) {
    env = await target.fresh();
    const server = await startRampart(target, env);
    first.push(server.readyMs);
    await server.stop();
  }
  for (let i = 0; i < runs; i++) {
    const server = await startRampart(target, env);
    warm.push(server.readyMs);
    await server.stop();
  }
  return { first, warm, env };
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import {
  childEnv,
  freePort,
  killChildren,
  makeTempDir,
  removeTempDirs,
  spawnCli,
  tryConnect,
} from './helpers/process.js';

afterAll(() => {
  killChildren();
  removeTempDirs();
});

const WARNING = 'production must supply its own RAMPART_MASTER_KEYS';

/** A full test app with a /slow route (300 ms), listening on a free port, over its own test database. */
async function slowApp(): Promise<{ t: TestApp; port: number; started: () => boolean }> {
  let started = false;
  const t = await createTestApp({}, (app) => {
    app.get('/slow', { schema: { querystring: Type.Object({}, { additionalProperties: false }) } }, async () => {
      started = true;
      await sleep(300);
      return { done: true };
    });
  });
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await t.close();
    throw err;
  }
  return { t, port: (t.app.server.address() as AddressInfo).port, started: () => started };
}

/** GET over a fresh connection that the client closes after the response (no keep-alive). */
function getOnce(port: number, urlPath: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.once('error', reject);
  });
}

describe('graceful shutdown', () => {
  it('[platform] close() lets an in-flight request finish, then refuses new connections; the database closes after', {
    timeout: 120_000,
  }, async () => {
    const { t, port, started } = await slowApp();
    let closing: Promise<void> | undefined;
    try {
      const inFlight = getOnce(port, '/slow');
      await vi.waitFor(() => expect(started()).toBe(true), { timeout: 10_000, interval: 10 });
      // app.close(), then the limits, event bus, mailer and database.
      closing = t.close();

      expect(await inFlight).toEqual({ status: 200, body: JSON.stringify({ done: true }) });
      await closing;

      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      await expect(getOnce(port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      if (!closing) {
        t.app.server.closeAllConnections();
        await t.close();
      }
    }
  });

  it('[platform] close() finishes promptly after an in-flight keep-alive request completes', {
    timeout: 120_000,
  }, async () => {
    const { t, port, started } = await slowApp();
    let closing: Promise<'closed'> | undefined;
    try {
      const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
      // In flight means inside the handler: a fixed pause is not enough on a busy machine.
      await vi.waitFor(() => expect(started()).toBe(true), { timeout: 10_000, interval: 10 });
      closing = t.app.close().then(() => 'closed' as const);
      const res = await inFlight;
      expect(res.status).toBe(200);
      await res.text();
      const outcome = await Promise.race([closing, sleep(5_000).then(() => 'still closing' as const)]);
      expect(outcome).toBe('closed');
    } finally {
      t.app.server.closeAllConnections();
      await closing;
      await t.close();
    }
  });

  it('[platform] `rampart start` serves, then exits 0 on SIGTERM; the dev master key is made once (0600) and ' +
    'warned about once', {
    timeout: 180_000,
  }, async () => {
    const dataDir = makeTempDir('rampart-start-');
    const run = async () => {
      const port = await freePort();
      const proc = spawnCli(
        ['start'],
        childEnv({ RAMPART_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', RAMPART_DEV: 'true' }),
      );
      try {
        await proc.waitFor('rampart is listening', 60_000);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ status: 'ok' });
        proc.kill('SIGTERM');
        const code = await proc.exited(20_000);
        expect(code, proc.stderr()).toBe(0);
        expect(proc.stdout()).toContain('shutdown complete');
        expect(await tryConnect(port)).toBe('ECONNREFUSED');
        return proc.stdout();
      } finally {
        proc.kill('SIGKILL');
      }
    };

    const first = await run();
    expect(first.split(WARNING).length - 1).toBe(1);
    expect(readdirSync(dataDir)).toContain('master-keys');
    expect(statSync(path.join(dataDir, 'master-keys')).mode & 0o777).toBe(0o600);
    // The key itself is never logged.
    const key = readFileSync(path.join(dataDir, 'master-keys'), 'utf8').trim();
    expect(first).not.toContain(key.slice(3));

    const second = await run();
    expect(second).not.toContain(WARNING);
    expect(statSync(path.join(dataDir, 'master-keys')).mode & 0o777).toBe(0o600);
  });
});

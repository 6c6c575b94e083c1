import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  childEnv,
  freePort,
  killChildren,
  makeTempDir,
  removeTempDirs,
  repoRoot,
  runNode,
  spawnNode,
} from './helpers/process.js';

const buildDir = path.join(repoRoot, '.tmp', `build-${randomUUID()}`);

afterAll(() => {
  killChildren();
  removeTempDirs();
  rmSync(buildDir, { recursive: true, force: true });
});

describe('the published start command', () => {
  it('[platform] `npm start` runs the compiled bundle, which `npm ci` builds (no TypeScript loader)', () => {
    const { scripts, bin } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(scripts.start).toBe('node dist/cli.js start');
    expect(scripts.prepare).toBe('node scripts/build.mjs');
    expect(bin.rampart).toBe('dist/cli.js');
  });

  it('[platform] the bundle starts on a fresh embedded database, serves pages and the passkey script, and stops ' +
    'on SIGTERM', { timeout: 180_000 }, async () => {
    const cli = path.join(buildDir, 'cli.js');
    const built = await runNode(repoRoot, ['scripts/build.mjs', cli], childEnv(), 120_000);
    expect(built.code, built.stderr).toBe(0);

    const port = await freePort();
    const server = spawnNode(
      repoRoot,
      [cli, 'start'],
      childEnv({ PORT: String(port), RAMPART_DATA_DIR: makeTempDir(), LOG_LEVEL: 'info' }),
    );
    await server.waitFor('rampart is listening', 150_000);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const page = await fetch(`${base}/signin`, { headers: { Host: `localhost:${port}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form');
    const script = await fetch(`${base}/static/passkeys.js`, { headers: { Host: `localhost:${port}` } });
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('navigator.credentials');

    server.kill('SIGTERM');
    expect(await server.exited(30_000)).toBe(0);
    expect(server.stdout()).toContain('shutdown complete');
  });
});

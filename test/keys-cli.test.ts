import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { upstreamSecretContext } from '../src/external-signin/providers.js';
import { keyVersionOf, open, seal } from '../src/platform/crypto/envelope.js';
import { generateMasterKeyEntry, parseKeyring } from '../src/platform/crypto/keyring.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrator.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { childEnv, killChildren, makeTempDir, removeTempDirs, runCli } from './helpers/process.js';

afterAll(() => {
  killChildren();
  removeTempDirs();
});

const SLOW = { timeout: 300_000 };

/** PostgreSQL when DATABASE_URL is set, else an embedded data directory (Rampart not running: the CLI opens it). */
async function deployment() {
  const dir = makeTempDir('rampart-keys-cli-');
  const keyFile = path.join(dir, 'master-keys');
  writeFileSync(keyFile, `${generateMasterKeyEntry(1)}\n`, { mode: 0o600 });
  let pg: TestDatabase | undefined;
  let env: NodeJS.ProcessEnv;
  let openDb: () => Promise<Database>;
  if (process.env.DATABASE_URL) {
    pg = await createTestDatabase();
    env = childEnv({ DATABASE_URL: pg.url, RAMPART_DEV: 'true', RAMPART_MASTER_KEYS_FILE: keyFile });
    openDb = async () => pg!;
  } else {
    const dataDir = path.join(dir, 'data');
    env = childEnv({ RAMPART_DEV: 'true', RAMPART_DATA_DIR: dataDir, RAMPART_MASTER_KEYS_FILE: keyFile });
    openDb = async () => {
      const db = await openDatabase({ dataDir: path.join(dataDir, 'pgdata') });
      await migrate(db.owner);
      return db;
    };
  }
  return { keyFile, env, openDb, pg };
}

describe('rampart keys (D3)', () => {
  it('[D3] status, rotate, retire (refused, then done) and rewrap from the command line', SLOW, async () => {
    const d = await deployment();
    const ids = Array.from({ length: 3 }, () => `cli-${randomBytes(4).toString('hex')}`);
    const db = await d.openDb();
    const v1 = parseKeyring(readFileSync(d.keyFile, 'utf8'));
    await db.withSystem(async (tx) => {
      for (const id of ids) {
        await tx
          .insertInto('upstream_providers')
          .values({
            id,
            name: id,
            issuer: 'https://idp.example.com',
            client_id: 'c',
            client_secret_sealed: seal(v1, `secret of ${id}`, upstreamSecretContext(id)),
            created_at: new Date(),
          })
          .execute();
      }
    });
    if (!d.pg) await db.close();

    const status = await runCli(['keys', 'status'], d.env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^versions: v1$/m);
    expect(status.stdout).toMatch(/^current: {2}v1$/m);
    expect(status.stdout).toMatch(/external_signin\.client_secret +v1: 3$/m);

    const rotated = await runCli(['keys', 'rotate'], d.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain(`added v2 to ${d.keyFile}`);
    expect(rotated.stdout).toContain('rotated: v1 -> v2. Next: rampart keys rewrap');
    expect(statSync(d.keyFile).mode & 0o777).toBe(0o600);

    const refused = await runCli(['keys', 'retire', 'v1'], d.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/v1 still wraps 3 external_signin\.client_secret.*run `rampart keys rewrap` first/);
    const current = await runCli(['keys', 'retire', 'v2'], d.env);
    expect(current.stderr).toContain('v2 is the current version');

    const rewrapped = await runCli(['keys', 'rewrap', '--batch', '2'], d.env);
    expect(rewrapped.code, rewrapped.stderr).toBe(0);
    expect(rewrapped.stdout).toContain('re-wrapping under v2');
    expect(rewrapped.stdout).toMatch(/^rewrapped 3 of 3 \(external_signin.client_secret\)$/m); // no TTY: lines
    expect(rewrapped.stdout).toMatch(/external_signin\.client_secret +v2: 3$/m);

    const retired = await runCli(['keys', 'retire', 'v1'], d.env);
    expect(retired.code, retired.stderr).toBe(0);
    expect(retired.stdout).toContain('v1 is retired');
    expect(readFileSync(d.keyFile, 'utf8')).toMatch(/^v2:[A-Za-z0-9_-]{43}\n$/);
    const after = await runCli(['keys', 'status'], d.env);
    expect(after.stdout).toMatch(/^retired: {2}v1$/m);

    const check = await d.openDb();
    const v2 = parseKeyring(readFileSync(d.keyFile, 'utf8'));
    const rows = await check.withSystem((tx) =>
      tx.selectFrom('upstream_providers').select(['id', 'client_secret_sealed']).execute(),
    );
    for (const row of rows) {
      expect(keyVersionOf(row.client_secret_sealed)).toBe(2);
      expect(open(v2, row.client_secret_sealed, upstreamSecretContext(row.id)).toString()).toBe(`secret of ${row.id}`);
    }
    if (d.pg) await d.pg.dispose();
    else await check.close();
  });

  it('[D3] rotate refuses keys given in RAMPART_MASTER_KEYS and says why', SLOW, async () => {
    const dir = makeTempDir('rampart-keys-env-');
    const env = childEnv({
      RAMPART_DEV: 'true',
      RAMPART_DATA_DIR: path.join(dir, 'data'),
      RAMPART_MASTER_KEYS: generateMasterKeyEntry(1),
    });
    const res = await runCli(['keys', 'rotate'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/RAMPART_MASTER_KEYS, which cannot change without a restart/);
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });
});

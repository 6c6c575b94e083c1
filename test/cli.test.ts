import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAudit, orgStream, systemStream } from '../src/audit/service.js';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { openDatabase, type Database } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrator.js';
import { createTestDatabase } from './helpers/database.js';
import { childEnv, killChildren, makeTempDir, removeTempDirs, runCli } from './helpers/process.js';

afterAll(() => {
  killChildren();
  removeTempDirs();
});

// Each spawn costs 1-2 s (tsx), each embedded-database open a few more; a busy CI box is slower.
const SLOW = { timeout: 120_000 };
const SLOWER = { timeout: 240_000 };
const STACK_FRAME = /^\s+at .+/m;

describe('configuration errors', () => {
  it('[platform] invalid configuration exits 2 with one plain line per variable, an example each, and no secret or stack trace', SLOW, async () => {
    const badKey = 'v1:short';
    const res = await runCli(['start'], childEnv({ PORT: 'abc', RAMPART_DEV: 'false', RAMPART_MASTER_KEYS: badKey, SMTP_URL: 'http://x' }));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^config: [A-Z_]+(_FILE)?[ :]/);
    const about = (name: string) => lines.filter((l) => l.startsWith(`config: ${name}:`));
    expect(about('PORT')).toHaveLength(1);
    expect(about('PORT')[0]).toMatch(/example: PORT=\d+/);
    expect(about('RAMPART_MASTER_KEYS')).toHaveLength(1);
    expect(about('RAMPART_MASTER_KEYS')[0]).toMatch(/v1:<base64url/);
    expect(about('SMTP_URL').length).toBeGreaterThanOrEqual(1);
    expect(about('SMTP_URL')[0]).toMatch(/example: SMTP_URL=smtps?:\/\//);
    expect(lines.every((l) => /^config: (PORT|RAMPART_MASTER_KEYS|SMTP_URL):/.test(l))).toBe(true);
    expect(res.stderr).not.toContain(badKey);
    expect(res.stderr).not.toMatch(STACK_FRAME);
    expect(res.stderr).not.toMatch(/Error:|node:internal/);
  });

  it('[D3] a master key of the wrong length is refused without echoing any of its characters', SLOW, async () => {
    const keyText = Buffer.alloc(24, 0x5a).toString('base64url').replace(/^./, 'Q'); // 32 base64url chars: 24 bytes, not 32
    const res = await runCli(['start'], childEnv({ RAMPART_DEV: 'true', RAMPART_MASTER_KEYS: `v1:${keyText}`, RAMPART_DATA_DIR: makeTempDir('rampart-cli-badkey-') }));
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^config: RAMPART_MASTER_KEYS: .*24 bytes; it must be exactly 32/)]);
    expect(res.stderr).not.toContain(keyText.slice(0, 12));
    expect(res.stdout).not.toContain(keyText.slice(0, 12));
  });

  it('[platform] an invalid SMTP_URL is one problem, not also reported as missing', SLOW, async () => {
    const res = await runCli(['start'], childEnv({ RAMPART_DEV: 'false', RAMPART_MASTER_KEYS: generateMasterKeyEntry(1), SMTP_URL: 'http://x', RAMPART_BASE_URL: 'https://auth.example.com' }));
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n').filter((l) => l.startsWith('config: SMTP_URL:'))).toHaveLength(1);
  });

  it('[platform] production without RAMPART_MASTER_KEYS is a configuration error naming it', SLOW, async () => {
    const res = await runCli(['start'], childEnv({
      RAMPART_DEV: 'false',
      SMTP_URL: 'smtps://user:pw@smtp.example.com:465',
      RAMPART_BASE_URL: 'https://auth.example.com',
      RAMPART_DATA_DIR: makeTempDir('rampart-cli-prod-'),
    }));
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^config: RAMPART_MASTER_KEYS: required in production.*example: RAMPART_MASTER_KEYS=v1:/)]);
    expect(res.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('keys generate', () => {
  const ENTRY = /^v(\d+):([A-Za-z0-9_-]{43})$/;

  it('[D3] prints a fresh v1 entry of 43 base64url characters; two runs differ', SLOW, async () => {
    const [a, b] = await Promise.all([runCli(['keys', 'generate'], childEnv()), runCli(['keys', 'generate'], childEnv())]);
    for (const res of [a, b]) {
      expect(res.code).toBe(0);
      expect(res.stdout.trim()).toMatch(ENTRY);
      expect(res.stdout.trim().startsWith('v1:')).toBe(true);
      expect(Buffer.from(ENTRY.exec(res.stdout.trim())![2]!, 'base64url')).toHaveLength(32);
    }
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('[D3] the next version follows the keyring in RAMPART_MASTER_KEYS or RAMPART_MASTER_KEYS_FILE; --version picks one', SLOW, async () => {
    const v1 = generateMasterKeyEntry(1);
    const dir = makeTempDir('rampart-cli-keys-');
    const file = path.join(dir, 'keys');
    writeFileSync(file, `${v1},${generateMasterKeyEntry(4)}\n`, { mode: 0o600 });
    const [fromEnv, fromFile, explicit] = await Promise.all([
      runCli(['keys', 'generate'], childEnv({ RAMPART_MASTER_KEYS: v1 })),
      runCli(['keys', 'generate'], childEnv({ RAMPART_MASTER_KEYS_FILE: file })),
      runCli(['keys', 'generate', '--version', '7'], childEnv()),
    ]);
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout.trim()).toMatch(/^v2:[A-Za-z0-9_-]{43}$/);
    expect(fromEnv.stdout).not.toContain(v1.slice(3));

    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout.trim()).toMatch(/^v5:[A-Za-z0-9_-]{43}$/);

    expect(explicit.code).toBe(0);
    expect(explicit.stdout.trim()).toMatch(/^v7:[A-Za-z0-9_-]{43}$/);
  });

  it('[D3] never takes a key on the command line (it would show in ps and shell history): --after is refused', SLOW, async () => {
    const v1 = generateMasterKeyEntry(1);
    const res = await runCli(['keys', 'generate', '--after', v1], childEnv());
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/unknown option '--after'/);
    expect(res.stdout).not.toMatch(/^v\d+:/m);
  });
});

describe('help', () => {
  it('[platform] every command has --help that exits 0 with a description', SLOW, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--help'], /security backbone/],
      [['start', '--help'], /Migrate the database, then serve/],
      [['migrate', '--help'], /Apply pending database migrations[\s\S]*--status/],
      [['keys', 'generate', '--help'], /Print a new master key entry[\s\S]*--version/],
      [['audit', 'verify', '--help'], /Verify the hash chain[\s\S]*--stream/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, childEnv())));
    results.forEach((res, i) => {
      const [args, description] = cases[i]!;
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout, args.join(' ')).toMatch(/^Usage: rampart/);
      expect(res.stdout, args.join(' ')).toMatch(description);
    });
  });
});

describe('audit verify', () => {
  const orgA = randomUUID();
  const orgB = randomUUID();

  async function appendEvents(db: Database): Promise<void> {
    for (const org of [orgA, orgB]) {
      for (const action of ['member.invited', 'member.role_changed', 'org.updated']) {
        await db.withTenant(org, (tx) => appendAudit(tx, { stream: orgStream(org), action, payload: { n: action.length } }));
      }
    }
    await db.withSystem((tx) => appendAudit(tx, { stream: systemStream, action: 'system.started' }));
  }

  async function tamper(db: Database): Promise<void> {
    // As the owner, with triggers off: what an attacker with database access could do.
    await db.owner.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      const res = await sql`update audit_events set action = 'forged' where stream = ${`org:${orgA}`} and seq = 1`.execute(tx);
      expect(Number(res.numAffectedRows)).toBe(1);
    });
  }

  function expectAllIntact(res: { code: number | string; stdout: string; stderr: string }): void {
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^ok +org:${orgA} \\(3 events\\)$`, 'm'));
    expect(res.stdout).toMatch(new RegExp(`^ok +org:${orgB} \\(3 events\\)$`, 'm'));
    expect(res.stdout).toMatch(/^ok +system \(1 events\)$/m);
    expect(res.stdout).toMatch(/3 stream\(s\) verified, all intact/);
  }

  function expectBroken(res: { code: number | string; stdout: string; stderr: string }): void {
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`^BROKEN +org:${orgA} at event 1\\b`, 'm'));
    expect(res.stdout).toMatch(new RegExp(`^ok +org:${orgB} \\(3 events\\)$`, 'm'));
    expect(res.stdout).toMatch(/^ok +system/m);
    expect(res.stdout).toMatch(/1 of 3 stream\(s\) broken/);
  }

  function expectUnknownStream(res: { code: number | string; stdout: string }): void {
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('no stream named org:nope');
  }

  it('[L1] `audit verify` reports every stream intact, then names the stream and event an owner altered (exit 1)', SLOWER, async () => {
    if (process.env.DATABASE_URL) {
      const db = await createTestDatabase();
      try {
        await appendEvents(db);
        const env = childEnv({ DATABASE_URL: db.url, RAMPART_DEV: 'true' });
        expectAllIntact(await runCli(['audit', 'verify'], env));

        const one = await runCli(['audit', 'verify', '--stream', `org:${orgB}`], env);
        expect(one.code).toBe(0);
        expect(one.stdout).not.toContain(orgA);
        expect(one.stdout).toMatch(/1 stream\(s\) verified, all intact/);
        expectUnknownStream(await runCli(['audit', 'verify', '--stream', 'org:nope'], env));

        await tamper(db);
        expectBroken(await runCli(['audit', 'verify'], env));
      } finally {
        await db.dispose();
      }
    } else {
      const dataDir = makeTempDir('rampart-cli-audit-');
      const open = () => openDatabase({ dataDir: path.join(dataDir, 'pgdata') });
      let db = await open();
      try {
        await migrate(db.owner);
        await appendEvents(db);
      } finally {
        await db.close();
      }
      const env = childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' });
      expectAllIntact(await runCli(['audit', 'verify'], env));

      const one = await runCli(['audit', 'verify', '--stream', `org:${orgB}`], env);
      expect(one.code).toBe(0);
      expect(one.stdout).not.toContain(orgA);
      expect(one.stdout).toMatch(/1 stream\(s\) verified, all intact/);
      expectUnknownStream(await runCli(['audit', 'verify', '--stream', 'org:nope'], env));

      db = await open();
      try {
        await tamper(db);
      } finally {
        await db.close();
      }
      expectBroken(await runCli(['audit', 'verify'], env));
    }
  });
});

describe('migrate', () => {
  it('[platform] `migrate --status` lists pending files on a fresh data dir; `migrate` applies them; a second run has nothing to apply', SLOWER, async () => {
    const dataDir = makeTempDir('rampart-cli-migrate-');
    const env = childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' });

    const status = await runCli(['migrate', '--status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^pending {2}0001_foundation\.sql$/m);
    expect(status.stdout).not.toMatch(/^applied/m);

    const first = await runCli(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^applied {2}0001_foundation\.sql$/m);

    const second = await runCli(['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/nothing to apply/);

    const after = await runCli(['migrate', '--status'], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^applied {2}0001_foundation\.sql$/m);
    expect(after.stdout).not.toMatch(/^pending/m);
  });
});

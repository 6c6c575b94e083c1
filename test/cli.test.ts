import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAudit, orgStream, systemStream } from '../src/platform/audit/events.js';
import { generateMasterKeyEntry } from '../src/platform/crypto/keyring.js';
import { openDatabase, type Database } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrator.js';
import { createTestDatabase } from './helpers/database.js';
import {
  childEnv,
  freePort,
  killChildren,
  makeTempDir,
  removeTempDirs,
  repoRoot,
  runCli,
  spawnCli,
} from './helpers/process.js';
import { testAction } from './helpers/audit-actions.js';

afterAll(() => {
  killChildren();
  removeTempDirs();
});

// Each spawn costs 1-2 s (tsx), each embedded-database open a few more; a busy CI box is slower.
const SLOW = { timeout: 120_000 };
const SLOWER = { timeout: 240_000 };
const STACK_FRAME = /^\s+at .+/m;

describe('configuration errors', () => {
  it(
    '[platform] invalid configuration exits 2 with one plain line per variable, an example each, and no secret ' +
      'or stack trace',
    SLOW,
    async () => {
      const badKey = 'v1:short';
      const res = await runCli(
        ['start'],
        childEnv({ PORT: 'abc', RAMPART_DEV: 'false', RAMPART_MASTER_KEYS: badKey, SMTP_URL: 'http://x' }),
      );
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
    },
  );

  it('[D3] a master key of the wrong length is refused without echoing any of its characters', SLOW, async () => {
    // 32 base64url chars: 24 bytes, not 32
    const keyText = Buffer.alloc(24, 0x5a).toString('base64url').replace(/^./, 'Q');
    const res = await runCli(
      ['start'],
      childEnv({
        RAMPART_DEV: 'true',
        RAMPART_MASTER_KEYS: `v1:${keyText}`,
        RAMPART_DATA_DIR: makeTempDir('rampart-cli-badkey-'),
      }),
    );
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^config: RAMPART_MASTER_KEYS: .*24 bytes; it must be exactly 32/),
    ]);
    expect(res.stderr).not.toContain(keyText.slice(0, 12));
    expect(res.stdout).not.toContain(keyText.slice(0, 12));
  });

  it('[platform] an invalid SMTP_URL is one problem, not also reported as missing', SLOW, async () => {
    const res = await runCli(
      ['start'],
      childEnv({
        RAMPART_DEV: 'false',
        RAMPART_MASTER_KEYS: generateMasterKeyEntry(1),
        SMTP_URL: 'http://x',
        RAMPART_BASE_URL: 'https://auth.example.com',
      }),
    );
    expect(res.code).toBe(2);
    expect(
      res.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('config: SMTP_URL:')),
    ).toHaveLength(1);
  });

  it('[platform] production without RAMPART_MASTER_KEYS is a configuration error naming it', SLOW, async () => {
    const res = await runCli(
      ['start'],
      childEnv({
        RAMPART_DEV: 'false',
        SMTP_URL: 'smtps://user:pw@smtp.example.com:465',
        RAMPART_BASE_URL: 'https://auth.example.com',
        RAMPART_DATA_DIR: makeTempDir('rampart-cli-prod-'),
      }),
    );
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^config: RAMPART_MASTER_KEYS: required in production.*example: RAMPART_MASTER_KEYS=v1:/),
    ]);
    expect(res.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('keys generate', () => {
  const ENTRY = /^v(\d+):([A-Za-z0-9_-]{43})$/;

  it('[D3] prints a fresh v1 entry of 43 base64url characters; two runs differ', SLOW, async () => {
    const [a, b] = await Promise.all([
      runCli(['keys', 'generate'], childEnv()),
      runCli(['keys', 'generate'], childEnv()),
    ]);
    for (const res of [a, b]) {
      expect(res.code).toBe(0);
      expect(res.stdout.trim()).toMatch(ENTRY);
      expect(res.stdout.trim().startsWith('v1:')).toBe(true);
      expect(Buffer.from(ENTRY.exec(res.stdout.trim())![2]!, 'base64url')).toHaveLength(32);
    }
    expect(a.stdout).not.toBe(b.stdout);
  });

  it(
    '[D3] the next version follows the keyring in RAMPART_MASTER_KEYS or RAMPART_MASTER_KEYS_FILE; --version picks one',
    SLOW,
    async () => {
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
    },
  );

  it(
    '[D3] never takes a key on the command line (it would show in ps and shell history): --after is refused',
    SLOW,
    async () => {
      const v1 = generateMasterKeyEntry(1);
      const res = await runCli(['keys', 'generate', '--after', v1], childEnv());
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/unknown option '--after'/);
      expect(res.stdout).not.toMatch(/^v\d+:/m);
    },
  );
});

describe('help', () => {
  it('[platform] every command has --help that exits 0 with a description', SLOW, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--help'], /security backbone[\s\S]*-V, --version/],
      [['start', '--help'], /Migrate the database, then serve/],
      [['migrate', '--help'], /Apply pending database migrations[\s\S]*--status/],
      [['keys', 'generate', '--help'], /Print a new master key entry[\s\S]*--version/],
      [['audit', 'verify', '--help'], /Verify the hash chain[\s\S]*--stream/],
      [['clients', 'add', '--help'], /Register a product[\s\S]*--redirect-uri[\s\S]*--backchannel-uri/],
      [['keys', 'rotate-signing', '--help'], /new token signing key/],
      [['upstreams', 'add', '--help'], /upstream OpenID provider[\s\S]*--issuer[\s\S]*--client-secret-file/],
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

describe('upstream providers (A7)', () => {
  it(
    '[A7] upstreams add prints the redirect URI, keeps the secret sealed, list shows it, remove takes it away',
    SLOW,
    async () => {
      const dataDir = makeTempDir('rampart-cli-upstreams-');
      const env = childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_BASE_URL: 'https://auth.example.com' });
      const secretFile = path.join(makeTempDir('rampart-cli-upstream-secret-'), 'secret');
      const secret = `upstream-secret-${randomUUID()}`;
      writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
      const add = await runCli(
        [
          'upstreams',
          'add',
          '--id',
          'acme',
          '--name',
          'Acme SSO',
          '--issuer',
          'https://sso.acme.example',
          '--client-id',
          'rampart',
          '--client-secret-file',
          secretFile,
        ],
        env,
      );
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain('redirect_uri: https://auth.example.com/sign-in/external/acme/callback');
      expect(add.stdout).not.toContain(secret);
      const again = await runCli(
        ['upstreams', 'add', '--id', 'acme', '--name', 'X', '--issuer', 'https://x.example', '--client-id', 'c'],
        env,
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/exactly one of --client-secret/);
      const taken = await runCli(
        ['upstreams', 'add', '--id', 'acme', '--name', 'X', '--issuer', 'https://x.example', '--client-id', 'c'].concat(
          ['--client-secret', 's'],
        ),
        env,
      );
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/already configured/);
      const plain = await runCli(
        ['upstreams', 'add', '--id', 'plain', '--name', 'X', '--issuer', 'http://x.example', '--client-id', 'c'].concat(
          ['--client-secret', 's'],
        ),
        env,
      );
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/must be an https URL/);
      const list = await runCli(['upstreams', 'list'], env);
      expect(list.stdout).toContain('acme  "Acme SSO"  https://sso.acme.example  client rampart');
      expect(list.stdout).not.toContain(secret);
      expect((await runCli(['upstreams', 'remove', 'acme'], env)).stdout).toContain('removed acme');
      const gone = await runCli(['upstreams', 'remove', 'acme'], env);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/no upstream provider "acme"/);
    },
  );
});

describe('clients and signing keys (A10)', () => {
  it('[A10] clients add prints a secret once, list shows the registration, remove takes it away', SLOW, async () => {
    const env = childEnv({ RAMPART_DATA_DIR: makeTempDir('rampart-cli-clients-') });
    const add = await runCli(
      ['clients', 'add', '--id', 'analytics', '--name', 'Acme Analytics', '--redirect-uri', 'https://a.example/cb'],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    const secret = /^client_secret: ([A-Za-z0-9_-]{43})$/m.exec(add.stdout)?.[1];
    expect(secret).toBeDefined();
    const again = await runCli(
      ['clients', 'add', '--id', 'analytics', '--name', 'X', '--redirect-uri', 'https://b.example/cb'],
      env,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already registered/);
    const fragment = await runCli(
      ['clients', 'add', '--id', 'frag', '--name', 'X', '--redirect-uri', 'https://b.example/#x'],
      env,
    );
    expect(fragment.code).toBe(1);
    expect(fragment.stderr).toMatch(/no fragment/);
    const list = await runCli(['clients', 'list'], env);
    expect(list.stdout).toContain('analytics  "Acme Analytics"  (confidential, third party)');
    expect(list.stdout).not.toContain(secret!); // stored as a hash only
    expect((await runCli(['clients', 'remove', 'analytics'], env)).code).toBe(0);
    const gone = await runCli(['clients', 'remove', 'analytics'], env);
    expect(gone.code).toBe(1);
  });

  it(
    '[A10] keys rotate-signing publishes a new key that signs later; the current one keeps signing',
    SLOW,
    async () => {
      const env = childEnv({ RAMPART_DATA_DIR: makeTempDir('rampart-cli-signing-') });
      const rotated = await runCli(['keys', 'rotate-signing'], env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const kid = /new signing key ([A-Za-z0-9_-]+): published now, signs from/.exec(rotated.stdout)?.[1];
      const list = (await runCli(['keys', 'signing'], env)).stdout;
      expect(list).toMatch(/ES256 {2}signing/);
      expect(list).toContain(`${kid}  ES256  published, signs from`);
    },
  );
});

describe('operator tokens (A10)', () => {
  it('[A10] operator tokens create prints a rop_ token once, list never shows it, revoke ends it', SLOWER, async () => {
    const env = childEnv({ RAMPART_DATA_DIR: makeTempDir('rampart-cli-operator-'), RAMPART_DEV: 'true' });
    // Its --help here rather than in the help batch above, which already runs its spawns all at once.
    const help = await runCli(['operator', 'tokens', 'create', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rampart operator tokens create[\s\S]*printed once/);
    const made = await runCli(['operator', 'tokens', 'create', 'deploy-bot'], env);
    expect(made.code, made.stderr).toBe(0);
    const token = /^operator_token: (rop_[A-Za-z0-9_-]{43})$/m.exec(made.stdout)?.[1];
    expect(token).toBeDefined();
    const id = /id: ([0-9a-f-]{36})$/m.exec(made.stdout)?.[1];
    expect(made.stderr).toMatch(/only time the token is shown/);
    const taken = await runCli(['operator', 'tokens', 'create', 'deploy-bot'], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe('rampart: A live operator token already has this name.\n');

    const list = await runCli(['operator', 'tokens', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^deploy-bot  ${id}  created \\S+  last used never  live$`, 'm'));
    expect(list.stdout).not.toContain(token!.slice(4));

    const revoked = await runCli(['operator', 'tokens', 'revoke', 'deploy-bot'], env);
    expect(revoked.stdout).toBe(`revoked deploy-bot (${id})\n`);
    const again = await runCli(['operator', 'tokens', 'revoke', 'deploy-bot'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^rampart: There is no live operator token with this name or id\.\n$/);

    // The console grant (src/operator/console.test.ts has its rules): an address without an account is refused.
    const stranger = await runCli(['operator', 'grant', 'nobody@example.com'], env);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toBe('rampart: There is no account with this e-mail address.\n');
    expect((await runCli(['operator', 'users'], env)).stdout).toBe('no operator console accounts\n');
  });

  it('[S3] clients list shows the back-channel logout deliveries that failed in the last day', SLOW, async () => {
    const dataDir = makeTempDir('rampart-cli-deliveries-');
    const db = await openDatabase({ dataDir: path.join(dataDir, 'pgdata') });
    try {
      await migrate(db.owner);
      await db.withSystem(async (tx) => {
        const client = (id: string, backchannel: string | null) => ({
          client_id: id,
          name: id,
          secret_hash: null,
          redirect_uris: ['https://a.example/cb'],
          backchannel_logout_uri: backchannel,
          first_party: true,
          created_at: new Date(),
        });
        await tx
          .insertInto('oidc_clients')
          .values([client('failing', 'https://a.example/bcl'), client('healthy', 'https://b.example/bcl')])
          .execute();
        const delivery = (delivered: boolean, hoursAgo: number) => ({
          client_id: 'failing',
          delivered,
          attempts: delivered ? 1 : 3,
          last_error: delivered ? null : 'expected 200 OK, got: 500 Internal Server Error',
          finished_at: new Date(Date.now() - hoursAgo * 3600_000),
        });
        await tx
          .insertInto('oidc_backchannel_deliveries')
          .values([delivery(false, 1), delivery(false, 2), delivery(true, 3), delivery(false, 30)])
          .execute();
      });
    } finally {
      await db.close();
    }
    const list = await runCli(['clients', 'list'], childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' }));
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('back-channel https://a.example/bcl  (back-channel: 2 failed in 24h)');
    expect(list.stdout).toContain('back-channel https://b.example/bcl  (back-channel: no failures in 24h)');
  });
});

describe('audit verify', () => {
  const orgA = randomUUID();
  const orgB = randomUUID();

  async function appendEvents(db: Database): Promise<void> {
    for (const org of [orgA, orgB]) {
      for (const action of ['member.invited', 'member.role_changed', 'org.updated']) {
        await db.withTenant(org, (tx) =>
          appendAudit(tx, { stream: orgStream(org), action: testAction(action), payload: { n: action.length } }),
        );
      }
    }
    await db.withSystem((tx) => appendAudit(tx, { stream: systemStream, action: testAction('system.started') }));
  }

  async function tamper(db: Database): Promise<void> {
    // As the owner, with triggers off: what an attacker with database access could do.
    await db.owner.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      const res =
        await sql`update audit_events set action = 'forged' where stream = ${`org:${orgA}`} and seq = 1`.execute(tx);
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

  it(
    '[L1] `audit verify` reports every stream intact, then names the stream and event an owner altered (exit 1)',
    SLOWER,
    async () => {
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
    },
  );
});

describe('migrate', () => {
  it(
    '[platform] `migrate --status` lists pending files on a fresh data dir; `migrate` applies them; a second ' +
      'run has nothing to apply',
    SLOWER,
    async () => {
      const dataDir = makeTempDir('rampart-cli-migrate-');
      const env = childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' });

      const status = await runCli(['migrate', '--status'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^pending {2}0001_foundation\.sql$/m);
      expect(status.stdout).not.toMatch(/^applied/m);
      expect(readdirSync(dataDir), 'migrate --status creates no database').toEqual([]);

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
    },
  );
});

/** What an operator error must look like: one plain line on stderr, nothing of Node's internals. */
function expectOnePlainLine(res: { code: number | string; stderr: string }, pattern: RegExp): void {
  expect(res.code, res.stderr).toBe(1);
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rampart: /);
  expect(lines[0]).toMatch(pattern);
  expect(res.stderr).not.toMatch(STACK_FRAME);
  expect(res.stderr).not.toMatch(/node:internal|\bat async\b/);
}

/** The PID of a process that has just exited (and so, for a moment at least, is no one's). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

describe('one embedded data directory, one process', () => {
  const LOCKED = /data directory .* is in use by another Rampart process \(PID (\d+)/;

  it(
    'a second process on the same data directory refuses to start (start, migrate, audit verify), naming the ' +
      'PID; the lock is released at shutdown',
    SLOWER,
    async () => {
      const dataDir = makeTempDir('rampart-cli-lock-');
      const [port1, port2] = [await freePort(), await freePort()];
      const env = (port: number) => childEnv({ RAMPART_DATA_DIR: dataDir, PORT: String(port), RAMPART_DEV: 'true' });
      const first = spawnCli(['start'], env(port1));
      try {
        await first.waitFor('rampart is listening', 90_000);
        const lockFile = path.join(dataDir, 'rampart.lock');
        expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(first.child.pid));

        const [second, migrating, verifying] = await Promise.all([
          runCli(['start'], env(port2)),
          runCli(['migrate'], env(port2)),
          runCli(['audit', 'verify'], env(port2)),
        ]);
        for (const res of [second, migrating, verifying]) {
          expectOnePlainLine(res, LOCKED);
          expect(LOCKED.exec(res.stderr)![1]).toBe(String(first.child.pid));
        }
        // The first one still serves, and nobody listens on the second port.
        expect((await fetch(`http://127.0.0.1:${port1}/healthz`)).status).toBe(200);
        await expect(fetch(`http://127.0.0.1:${port2}/healthz`)).rejects.toThrow();

        first.kill('SIGTERM');
        expect(await first.exited(30_000)).toBe(0);
        expect(existsSync(lockFile)).toBe(false);
        const after = await runCli(['migrate'], env(port2));
        expect(after.code, after.stderr).toBe(0);
        expect(after.stdout).toMatch(/nothing to apply/);
        expect(existsSync(lockFile)).toBe(false);
      } finally {
        first.kill('SIGKILL');
      }
    },
  );

  it('a stale lock (its process is gone) is taken over, saying so', SLOWER, async () => {
    const dataDir = makeTempDir('rampart-cli-stale-');
    const env = childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' });
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);

    const pid = await deadPid();
    writeFileSync(path.join(dataDir, 'rampart.lock'), `${pid}\n`);
    const res = await runCli(['migrate'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(
      new RegExp(
        `took over the stale lock file .*rampart\\.lock: the process that held it \\(PID ${pid}\\) is no ` +
          `longer running`,
      ),
    );
    expect(res.stdout).toMatch(/nothing to apply/);
    expect(readdirSync(dataDir)).not.toContain('rampart.lock');
  });
});

describe('plain errors for operator mistakes', () => {
  it('`rampart --version` prints the package version', SLOW, async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const res = await runCli(['--version'], childEnv());
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(version);
  });

  it(
    '`keys generate --version abc` (or 0) is one plain line on stderr and exit 1, with no key printed',
    SLOW,
    async () => {
      const [abc, zero] = await Promise.all([
        runCli(['keys', 'generate', '--version', 'abc'], childEnv()),
        runCli(['keys', 'generate', '--version', '0'], childEnv()),
      ]);
      for (const res of [abc, zero]) {
        expectOnePlainLine(res, /--version: .*whole number from 1/);
        expect(res.stdout).toBe('');
      }
    },
  );

  it('`audit verify` without a database says so, exits 1 and creates no data directory', SLOW, async () => {
    const parent = makeTempDir('rampart-cli-nodb-');
    const dataDir = path.join(parent, 'data');
    const res = await runCli(['audit', 'verify'], childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' }));
    expectOnePlainLine(res, /no database .*data.*rampart migrate/);
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('`audit verify` on a database that was never migrated says so and exits 1', SLOWER, async () => {
    const dataDir = makeTempDir('rampart-cli-unmigrated-');
    const db = await openDatabase({ dataDir: path.join(dataDir, 'pgdata') });
    await db.close();
    const res = await runCli(['audit', 'verify'], childEnv({ RAMPART_DATA_DIR: dataDir, RAMPART_DEV: 'true' }));
    expectOnePlainLine(res, /database in .* is not migrated.*rampart migrate/);

    if (process.env.DATABASE_URL) {
      // The same on PostgreSQL: an empty database of the server.
      const name = `rampart_t_empty_${randomUUID().slice(0, 8)}`;
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`create database ${name}`);
        const url = new URL(process.env.DATABASE_URL);
        url.pathname = `/${name}`;
        const onServer = await runCli(
          ['audit', 'verify'],
          childEnv({ DATABASE_URL: url.toString(), RAMPART_DEV: 'true' }),
        );
        expectOnePlainLine(onServer, /PostgreSQL database of DATABASE_URL is not migrated.*rampart migrate/);
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }
  });

  it(
    '`rampart start` on a port in use is one plain line naming the port, exit 1, and releases the data directory',
    SLOWER,
    async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as net.AddressInfo;
      try {
        const dataDir = makeTempDir('rampart-cli-port-');
        const res = await runCli(
          ['start'],
          childEnv({ RAMPART_DATA_DIR: dataDir, PORT: String(port), RAMPART_DEV: 'true', LOG_LEVEL: 'warn' }),
        );
        expectOnePlainLine(res, new RegExp(`port ${port} .*already in use.*PORT`));
        expect(readdirSync(dataDir)).not.toContain('rampart.lock');
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    },
  );
});

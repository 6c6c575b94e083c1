#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { verifyAllStreams } from './audit/service.js';
import { loadConfigOrExit, main } from './main.js';
import { generateMasterKeyEntry, parseKeyring } from './platform/crypto/keyring.js';
import { migrate, migrationStatus } from './platform/db/migrator.js';
import { createLogger } from './platform/logging.js';
import { openConfiguredDatabase } from './server.js';

const program = new Command('rampart')
  .description('Rampart: the security backbone for multi-tenant SaaS products.\nConfiguration comes from the environment; see the README for every variable.')
  .showHelpAfterError();

program
  .command('start')
  .description('Migrate the database, then serve HTTP(S) until SIGTERM or SIGINT.')
  .action(main);

program
  .command('migrate')
  .description('Apply pending database migrations and exit. Refuses if an applied migration file was changed.')
  .option('--status', 'only show applied and pending migrations')
  .action(async (opts: { status?: boolean }) => {
    const config = loadConfigOrExit();
    const db = await openConfiguredDatabase(config, createLogger('warn'));
    try {
      if (opts.status) {
        const status = await migrationStatus(db.owner);
        for (const name of status.applied) console.log(`applied  ${name}`);
        for (const name of status.pending) console.log(`pending  ${name}`);
        for (const problem of status.problems) console.log(`PROBLEM  ${problem}`);
        process.exitCode = status.problems.length > 0 ? 1 : 0;
      } else {
        const ran = await migrate(db.owner);
        console.log(ran.length ? ran.map((n) => `applied  ${n}`).join('\n') : 'nothing to apply: the database is current');
      }
    } finally {
      await db.close();
    }
  });

const keys = program.command('keys').description('Master key management (control D3).');
keys
  .command('generate')
  .description(
    'Print a new master key entry (v<N>:<base64url>) to add to RAMPART_MASTER_KEYS. The key is printed once and stored nowhere.\n' +
      'Its version follows the highest one in RAMPART_MASTER_KEYS (or RAMPART_MASTER_KEYS_FILE) when set, else 1.',
  )
  .addOption(new Option('--version <n>', 'version number for the new key').argParser((v) => Number.parseInt(v, 10)))
  .action((opts: { version?: number }) => {
    const file = process.env.RAMPART_MASTER_KEYS_FILE;
    const existing = file ? readFileSync(file, 'utf8') : process.env.RAMPART_MASTER_KEYS;
    const version = opts.version ?? (existing ? parseKeyring(existing, file ?? 'RAMPART_MASTER_KEYS').current + 1 : 1);
    console.log(generateMasterKeyEntry(version));
  });

const audit = program.command('audit').description('The tamper-evident audit log (control L1).');
audit
  .command('verify')
  .description('Verify the hash chain of every audit stream (or one). Exits 1 if any stream is broken.')
  .option('--stream <name>', 'only this stream, e.g. org:<uuid>, user:<uuid> or system')
  .action(async (opts: { stream?: string }) => {
    const config = loadConfigOrExit();
    const db = await openConfiguredDatabase(config, createLogger('warn'));
    try {
      let broken = 0;
      let checked = 0;
      await db.owner.transaction().execute((tx) =>
        verifyAllStreams(tx, (v) => {
          if (opts.stream && v.stream !== opts.stream) return;
          checked++;
          if (v.ok) console.log(`ok      ${v.stream} (${v.events} events)`);
          else {
            broken++;
            console.log(`BROKEN  ${v.stream} at event ${v.brokenAt}: ${v.reason}`);
          }
        }),
      );
      if (opts.stream && checked === 0) console.log(`no stream named ${opts.stream}`);
      console.log(broken === 0 ? `${checked} stream(s) verified, all intact` : `${broken} of ${checked} stream(s) broken`);
      process.exitCode = broken === 0 && checked > 0 ? 0 : 1;
    } finally {
      await db.close();
    }
  });

await program.parseAsync();

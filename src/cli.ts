#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { verifyAllStreams } from './platform/audit/events.js';
import type { Config } from './config.js';
import { loadConfigOrExit, main } from './main.js';
import { generateMasterKeyEntry, KeyringError, parseKeyring } from './platform/crypto/keyring.js';
import { loadKeyring } from './platform/crypto/master-key-file.js';
import { FEATURES } from './features.js';
import { keyRotationCommands } from './keys/index.js';
import { oidcCommands } from './oidc/index.js';
import { allSealedValues } from './platform/keys/values.js';
import type { WithOperator } from './feature.js';
import { upstreamCommands } from './external-signin/index.js';
import { providerCommands } from './vault/index.js';
import { operatorCommands } from './operator/index.js';
import { trustCommands } from './trust/index.js';
import { MigrationError, migrate, migrationStatus, readMigrations } from './platform/db/migrator.js';
import { OperatorError } from './platform/errors.js';
import { createLogger } from './platform/logging.js';
import { projectRoot } from './platform/paths.js';
import { openConfiguredDatabase } from './server.js';

const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };

/** Problems the operator fixes are one plain line on stderr and exit 1; anything else is a bug and keeps its stack. */
function plainErrors<A extends unknown[]>(action: (...args: A) => unknown): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof OperatorError || err instanceof KeyringError || err instanceof MigrationError)) throw err;
      process.stderr.write(`rampart: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}

/** Lock take-overs and the like, said on stderr so that stdout stays the command's output. */
const notice = (message: string) => process.stderr.write(`rampart: ${message}\n`);

const quietLogger = () => createLogger('warn');

const program = new Command('rampart')
  .description(
    'Rampart: the security backbone for multi-tenant SaaS products.\nConfiguration comes from the environment; ' +
      'see the README for every variable.',
  )
  .version(version, '-V, --version', 'print the version of Rampart')
  // `rampart --version` is the program's; `rampart keys generate --version 3` is the subcommand's.
  .enablePositionalOptions()
  .showHelpAfterError();

program
  .command('start')
  .description(
    'Migrate the database, then serve HTTP(S) until SIGTERM or SIGINT. The start-up log prints the address to ' +
      'open (RAMPART_BASE_URL).\n' +
      'On the embedded database the data directory is locked (RAMPART_DATA_DIR/rampart.lock) while it runs: a ' +
      'second process there refuses to start.',
  )
  .action(plainErrors(main));

program
  .command('migrate')
  .description(
    'Apply pending database migrations and exit. Refuses if an applied migration file was changed, or while ' +
      'another process has the embedded database open.',
  )
  .option('--status', 'only show applied and pending migrations (creates no database)')
  .action(
    plainErrors(async (opts: { status?: boolean }) => {
      const config = loadConfigOrExit();
      if (opts.status && !embeddedDatabaseExists(config)) {
        for (const file of readMigrations()) console.log(`pending  ${file.name}`);
        return;
      }
      const db = await openConfiguredDatabase(config, quietLogger(), { notice });
      try {
        if (opts.status) {
          const status = await migrationStatus(db.owner);
          for (const name of status.applied) console.log(`applied  ${name}`);
          for (const name of status.pending) console.log(`pending  ${name}`);
          for (const problem of status.problems) console.log(`PROBLEM  ${problem}`);
          process.exitCode = status.problems.length > 0 ? 1 : 0;
        } else {
          const ran = await migrate(db.owner);
          console.log(
            ran.length ? ran.map((n) => `applied  ${n}`).join('\n') : 'nothing to apply: the database is current',
          );
        }
      } finally {
        await db.close();
      }
    }),
  );

function embeddedDatabaseExists(config: Config): boolean {
  return config.databaseUrl !== undefined || existsSync(path.join(config.dataDir, 'pgdata'));
}

const keys = program.command('keys').description('Master key management (control D3).');
keys
  .command('generate')
  .description(
    'Print a new master key entry (v<N>:<base64url>) to add to RAMPART_MASTER_KEYS. The key is printed once ' +
      'and stored nowhere.\n' +
      'Its version follows the highest one in RAMPART_MASTER_KEYS (or RAMPART_MASTER_KEYS_FILE) when set, else 1.',
  )
  .option('--version <n>', 'version number for the new key (a whole number from 1)')
  .action(
    plainErrors((opts: { version?: string }) => {
      let next: number;
      if (opts.version !== undefined) {
        next = /^\d+$/.test(opts.version) ? Number(opts.version) : Number.NaN;
      } else {
        const file = process.env.RAMPART_MASTER_KEYS_FILE;
        let existing: string | undefined;
        try {
          existing = file ? readFileSync(file, 'utf8') : process.env.RAMPART_MASTER_KEYS;
        } catch {
          throw new OperatorError(`RAMPART_MASTER_KEYS_FILE: cannot read the file ${file}`);
        }
        next = existing ? parseKeyring(existing, file ?? 'RAMPART_MASTER_KEYS').current + 1 : 1;
      }
      let entry: string;
      try {
        entry = generateMasterKeyEntry(next);
      } catch (err) {
        if (!(err instanceof KeyringError) || opts.version === undefined) throw err;
        throw new OperatorError(`--version: "${opts.version}" is not valid: ${err.message} (example: --version 2)`);
      }
      console.log(entry);
    }),
  );

/** Operator commands on a running deployment's data: migrated first, like `start` does. */
const withOperator: WithOperator = async (fn) => {
  const config = loadConfigOrExit();
  const db = await openConfiguredDatabase(config, quietLogger(), { notice });
  try {
    await migrate(db.owner);
    await fn({ config, db, keyring: loadKeyring(config, notice) });
  } finally {
    await db.close();
  }
};
keyRotationCommands(keys, withOperator, () => allSealedValues(FEATURES), plainErrors);
oidcCommands(program, keys, withOperator, plainErrors);
upstreamCommands(program, withOperator, plainErrors);
providerCommands(program, withOperator, plainErrors);
operatorCommands(program, withOperator, plainErrors);
trustCommands(program, plainErrors);

const audit = program.command('audit').description('The tamper-evident audit log (control L1).');
audit
  .command('verify')
  .description(
    'Verify the hash chain of every audit stream (or one). Exits 1 if any stream is broken, or if there is no ' +
      'migrated database to verify (it creates none).',
  )
  .option('--stream <name>', 'only this stream, e.g. org:<uuid>, user:<uuid> or system')
  .action(
    plainErrors(async (opts: { stream?: string }) => {
      const config = loadConfigOrExit();
      const db = await openConfiguredDatabase(config, quietLogger(), { mustExist: true, notice });
      try {
        const status = await migrationStatus(db.owner);
        if (status.applied.length === 0) {
          const where = config.databaseUrl
            ? 'the PostgreSQL database of DATABASE_URL'
            : `the database in ${config.dataDir}`;
          throw new OperatorError(
            `${where} is not migrated, so it has no audit log yet: run \`rampart migrate\` (or \`rampart ` +
              `start\`) first`,
          );
        }
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
        console.log(
          broken === 0 ? `${checked} stream(s) verified, all intact` : `${broken} of ${checked} stream(s) broken`,
        );
        process.exitCode = broken === 0 && checked > 0 ? 0 : 1;
      } finally {
        await db.close();
      }
    }),
  );

await program.parseAsync();

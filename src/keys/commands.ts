import type { Command } from 'commander';
import { systemClock } from '../platform/clock.js';
import { createLiveKeyring } from '../platform/crypto/live-keyring.js';
import { DEV_KEY_FILE } from '../platform/crypto/master-key-file.js';
import { runtimeUrlFor } from '../platform/db/database.js';
import { OperatorError } from '../platform/errors.js';
import { createEventBus } from '../platform/events/bus.js';
import type { Config } from '../config.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Database } from '../platform/db/database.js';
import { DEFAULT_BATCH, needingRewrap, rewrapAll, type VersionCounts } from '../platform/keys/rewrap.js';
import { keyStatus, retire, rotate, type RotationDeps } from '../platform/keys/rotation.js';
import type { SealedValues } from '../platform/keys/sealed.js';
import { KEYRING_CHANNEL } from '../platform/keys/state.js';
import { auditKeys } from './service.js';

type Wrap = <A extends unknown[]>(action: (...args: A) => unknown) => (...args: A) => Promise<void>;
type WithKeys = (fn: (ctx: { config: Config; db: Database; keyring: Keyring }) => Promise<void>) => Promise<void>;

/** Per value, the count under each version, one line each: `  mfa.totp_secret  v1: 3  v2: 17`. */
export function formatCounts(counts: VersionCounts): string[] {
  const width = Math.max(0, ...Object.keys(counts).map((n) => n.length));
  return Object.entries(counts).map(([name, perVersion]) => {
    const parts = Object.entries(perVersion)
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([v, n]) => `${v}: ${n}`);
    return `  ${name.padEnd(width)}  ${parts.length ? parts.join('  ') : '(none)'}`;
  });
}

/** Parses `v3` or `3`. */
export function parseVersion(text: string): number {
  const match = /^v?(\d{1,10})$/.exec(text.trim());
  const n = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffff_ffff)
    throw new OperatorError(`"${text}" is not a key version (example: rampart keys retire v1)`);
  return n;
}

/** The operator's side: a live keyring on the same key file the instances read, and the bus they listen on. */
async function withRotation(
  withKeys: WithKeys,
  values: readonly SealedValues[],
  fn: (deps: RotationDeps) => Promise<void>,
): Promise<void> {
  await withKeys(async ({ config, db, keyring: loaded }) => {
    const file = config.masterKeysFile ?? (config.masterKeys ? undefined : `${config.dataDir}/${DEV_KEY_FILE}`);
    const keyring = createLiveKeyring({ initial: loaded, file });
    const bus = createEventBus({
      redisUrl: config.redisUrl,
      databaseUrl: config.databaseRuntimeUrl ?? (config.databaseUrl && runtimeUrlFor(config.databaseUrl)),
    });
    try {
      await fn({ db, keyring, values, clock: systemClock, announce: () => bus.publish(KEYRING_CHANNEL, 'reload') });
    } finally {
      await bus.close();
    }
  });
}

function progressPrinter(): (p: { done: number; total: number; name: string }) => void {
  const tty = process.stdout.isTTY === true;
  let last = -1;
  return ({ done, total, name }) => {
    if (done === last) return;
    last = done;
    if (tty) {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      process.stdout.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% ${done}/${total} ${name}  `);
      if (done >= total) process.stdout.write('\n');
    } else console.log(`rewrapped ${done} of ${total}${name ? ` (${name})` : ''}`);
  };
}

/** `rampart keys rotate | rewrap | retire | status` (D3). */
export function keyRotationCommands(
  keys: Command,
  withKeys: WithKeys,
  values: () => readonly SealedValues[],
  wrap: Wrap,
): void {
  keys
    .command('rotate')
    .description(
      'Add a master key version to the key file (RAMPART_MASTER_KEYS_FILE, or the dev one in the data directory), ' +
        'wait until every live instance (seen in the last minute) holds it, then make it current: new values are ' +
        'sealed under it, older ones still open. Refuses with keys given in RAMPART_MASTER_KEYS itself (they ' +
        'cannot change without a restart). Then run `rampart keys rewrap`.',
    )
    .option('--timeout <seconds>', 'how long to wait for the instances', '120')
    .action(
      wrap(async (opts: { timeout: string }) => {
        const seconds = Number(opts.timeout);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new OperatorError('--timeout: a number of seconds');
        await withRotation(withKeys, values(), async (deps) => {
          const done = await rotate(deps, { timeoutMs: seconds * 1000, onStep: (line) => console.log(line) });
          await auditKeys(deps.db, systemClock, 'keys.rotated', 'cli', { from: done.previous, to: done.version });
          console.log(`rotated: v${done.previous} -> v${done.version}. Next: rampart keys rewrap`);
        });
      }),
    );

  keys
    .command('rewrap')
    .description(
      'Re-wrap every sealed value (TOTP secrets, signing keys, client secrets, organization keys, ...) under the ' +
        'current master key version, online, in batches. Interrupted, it continues where it stopped when run ' +
        'again. Prints progress, then the count per key version.',
    )
    .option('--batch <n>', 'records per transaction', String(DEFAULT_BATCH))
    .action(
      wrap(async (opts: { batch: string }) => {
        const batch = Number(opts.batch);
        if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000)
          throw new OperatorError('--batch: a whole number from 1 to 10000 (example: --batch 200)');
        await withRotation(withKeys, values(), async (deps) => {
          deps.keyring.reloadFile();
          const status = await keyStatus(deps);
          console.log(`re-wrapping under v${status.current}`);
          const result = await rewrapAll({ ...deps, batch, onProgress: progressPrinter() });
          const payload = { rewrapped: result.rewrapped, counts: result.counts };
          await auditKeys(deps.db, systemClock, 'keys.rewrapped', 'cli', payload);
          console.log(
            `rewrapped ${result.rewrapped} record(s); ${result.reread} changed meanwhile and were read again`,
          );
          for (const f of result.failed) console.log(`FAILED  ${f.name} ${f.key}: ${f.reason}`);
          console.log('count per key version:');
          for (const line of formatCounts(result.counts)) console.log(line);
          const left = needingRewrap(result.counts, status.current);
          if (result.failed.length > 0 || left > 0) {
            console.log(`${left} record(s) are still under an older version`);
            process.exitCode = 1;
          }
        });
      }),
    );

  keys
    .command('retire')
    .argument('<version>', 'the version to retire, e.g. v1')
    .description(
      'Take a master key version out of use: refuses while it is current or any record still needs it (naming ' +
        'what), then removes it from the key file. Decrypting anything under it afterwards fails loudly.',
    )
    .action(
      wrap(async (text: string) => {
        const version = parseVersion(text);
        await withRotation(withKeys, values(), async (deps) => {
          const { removedFromFile } = await retire(deps, version);
          await auditKeys(deps.db, systemClock, 'keys.retired', 'cli', { version });
          console.log(`v${version} is retired`);
          console.log(
            removedFromFile
              ? `removed v${version} from ${deps.keyring.file}`
              : `remove v${version} from RAMPART_MASTER_KEYS at the next restart of every instance`,
          );
        });
      }),
    );

  keys
    .command('status')
    .description('The master key versions, the current one, the live instances, and the count per key version.')
    .action(
      wrap(async () => {
        await withRotation(withKeys, values(), async (deps) => {
          const s = await keyStatus(deps);
          console.log(`source:   ${s.source === 'file' ? s.file : 'RAMPART_MASTER_KEYS (fixed until a restart)'}`);
          console.log(`versions: ${s.held.map((v) => `v${v}`).join(', ')}`);
          console.log(`current:  v${s.current}`);
          console.log(`retired:  ${s.retired.length ? s.retired.map((v) => `v${v}`).join(', ') : 'none'}`);
          console.log(`instances (seen in the last minute): ${s.instances.length}`);
          for (const i of s.instances) {
            console.log(
              `  ${i.instanceId}  holds ${i.versions.map((v) => `v${v}`).join(',')}  current v${i.current}  ` +
                `seen ${i.seenAt.toISOString()}`,
            );
          }
          console.log('count per key version:');
          for (const line of formatCounts(s.counts)) console.log(line);
        });
      }),
    );
}

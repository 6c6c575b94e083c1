import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SealedValues } from './sealed.js';
import type { Clock } from '../clock.js';
import { generateMasterKeyEntry, parseKeyring } from '../crypto/keyring.js';
import type { LiveKeyring } from '../crypto/live-keyring.js';
import type { RandomSource } from '../crypto/random.js';
import type { Database } from '../db/database.js';
import { OperatorError } from '../errors.js';
import { countVersions, recordsUnder, type VersionCounts } from './rewrap.js';
import { type InstanceReport, liveInstances, readDecision, writeDecision } from './state.js';

export interface RotationDeps {
  db: Database;
  keyring: LiveKeyring;
  values: readonly SealedValues[];
  clock: Clock;
  /** Asks every instance to refresh (the events bus). */
  announce(): Promise<void>;
  random?: RandomSource;
}

export interface KeyStatus {
  source: 'env' | 'file';
  file: string | undefined;
  /** Versions this process holds (retired ones are removed from the file when retired). */
  held: number[];
  current: number;
  /** The deployment's decision; null before the first rotation (each instance uses its highest version). */
  decided: number | null;
  retired: number[];
  instances: InstanceReport[];
  counts: VersionCounts;
}

const v = (n: number) => `v${n}`;

const envRefusal = () =>
  new OperatorError(
    'the master keys come from RAMPART_MASTER_KEYS, which cannot change without a restart. To rotate online, ' +
      'move them to a file (RAMPART_MASTER_KEYS_FILE, mode 0600) and restart once; or add a version to ' +
      'RAMPART_MASTER_KEYS (`rampart keys generate`) and restart every instance',
  );

/** Replaces the key file in one rename (readers never see half a file), mode 0600. */
function writeKeyFile(file: string, entries: string[]): void {
  const text = `${entries.join('\n')}\n`;
  parseKeyring(text, file); // never write a file the instances would refuse
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temp, text, { mode: 0o600, flag: 'w' });
  renameSync(temp, file);
}

function fileEntries(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
}

export async function keyStatus(deps: RotationDeps): Promise<KeyStatus> {
  const { db, keyring } = deps;
  await refreshLocal(deps);
  const { decision, instances } = await db.withSystem(async (tx) => ({
    decision: await readDecision(tx),
    instances: await liveInstances(tx, deps.clock.now()),
  }));
  return {
    source: keyring.source,
    file: keyring.file,
    held: keyring.held(),
    current: keyring.current,
    decided: decision.current,
    retired: [...decision.retired],
    instances,
    counts: await countVersions(db, deps.values),
  };
}

async function refreshLocal(deps: RotationDeps): Promise<void> {
  deps.keyring.reloadFile();
  deps.keyring.decide(await deps.db.withSystem((tx) => readDecision(tx)));
}

/** Waits until every live instance holds `version` (and, with `current`, seals under it). */
async function waitForInstances(
  deps: RotationDeps,
  until: (i: InstanceReport) => boolean,
  opts: { timeoutMs: number; pollMs: number; onWait?: (lacking: InstanceReport[]) => void },
): Promise<InstanceReport[]> {
  const started = Date.now();
  let lastAnnounce = started;
  for (;;) {
    const instances = await deps.db.withSystem((tx) => liveInstances(tx, deps.clock.now()));
    const lacking = instances.filter((i) => !until(i));
    if (lacking.length === 0) return instances;
    if (Date.now() - started > opts.timeoutMs) {
      throw new OperatorError(
        `${lacking.length} live instance(s) still lack it after ${Math.round(opts.timeoutMs / 1000)} s: ` +
          `${lacking.map((i) => `${i.instanceId} (holds ${i.versions.map(v).join(',')})`).join('; ')}. Give ` +
          'every machine the new key file, then run the command again (it continues with the same version)',
      );
    }
    opts.onWait?.(lacking);
    // A lost message is asked again; the instances' own 30 s re-read is the backstop.
    if (Date.now() - lastAnnounce > 2_000) {
      await deps.announce();
      lastAnnounce = Date.now();
    }
    await new Promise((r) => setTimeout(r, opts.pollMs));
  }
}

export interface RotateResult {
  version: number;
  previous: number;
  /** False when a version added by an earlier, unfinished rotate was used again. */
  generated: boolean;
  instances: InstanceReport[];
}

/**
 * D3 rotate: a new version in the key file, every live instance holding it, then current for the
 * deployment. Records under older versions still open; `rewrap` moves them.
 */
export async function rotate(
  deps: RotationDeps,
  opts: { timeoutMs?: number; pollMs?: number; onStep?: (line: string) => void } = {},
): Promise<RotateResult> {
  const { keyring } = deps;
  const file = keyring.file;
  if (keyring.source === 'env' || !file) throw envRefusal();
  await refreshLocal(deps);
  const decision = await deps.db.withSystem((tx) => readDecision(tx));
  const previous = keyring.current;
  const known = [...keyring.held(), ...decision.retired, decision.current ?? 0];
  // A version above the current one already in the file: an earlier rotate that did not finish.
  const pending = keyring.held().filter((n) => n > previous && !decision.retired.includes(n));
  let version = pending.at(-1) ?? 0;
  const generated = version === 0;
  if (generated) {
    version = Math.max(...known) + 1;
    writeKeyFile(file, [...fileEntries(file), generateMasterKeyEntry(version, deps.random)]);
    keyring.reloadFile();
    opts.onStep?.(`added ${v(version)} to ${file}`);
  } else opts.onStep?.(`${v(version)} is already in ${file} (an earlier rotate did not finish): using it`);

  await deps.announce();
  opts.onStep?.(`waiting for every live instance to hold ${v(version)}`);
  const waitOpts = { timeoutMs: opts.timeoutMs ?? 120_000, pollMs: opts.pollMs ?? 250 };
  await waitForInstances(deps, (i) => i.versions.includes(version), waitOpts);

  await deps.db.withSystem(async (tx) => {
    const now = await readDecision(tx);
    await writeDecision(tx, { current: version, retired: now.retired }, deps.clock.now());
  });
  keyring.decide({ current: version, retired: decision.retired });
  await deps.announce();
  const instances = await waitForInstances(deps, (i) => i.current === version, waitOpts);
  opts.onStep?.(`${v(version)} is current on ${instances.length} live instance(s); new values are sealed under it`);
  return { version, previous, generated, instances };
}

/**
 * D3 retire: refuses while vN is current, or any record or live instance still needs it; then out of
 * use for the deployment (decrypting under it fails loudly) and out of the key file.
 */
export async function retire(deps: RotationDeps, version: number): Promise<{ removedFromFile: boolean }> {
  const { keyring } = deps;
  await refreshLocal(deps);
  const decision = await deps.db.withSystem((tx) => readDecision(tx));
  if (decision.retired.includes(version)) throw new OperatorError(`${v(version)} is already retired`);
  if (!keyring.held().includes(version)) {
    throw new OperatorError(`there is no ${v(version)}: the versions are ${keyring.held().map(v).join(', ')}`);
  }
  if (keyring.current === version) {
    throw new OperatorError(`${v(version)} is the current version: run \`rampart keys rotate\` first`);
  }
  const needing = recordsUnder(await countVersions(deps.db, deps.values), version);
  const names = Object.entries(needing);
  if (names.length > 0) {
    throw new OperatorError(
      `${v(version)} still wraps ${names.map(([name, n]) => `${n} ${name}`).join(', ')}: run \`rampart keys ` +
        'rewrap` first',
    );
  }
  const instances = await deps.db.withSystem((tx) => liveInstances(tx, deps.clock.now()));
  const sealing = instances.filter((i) => i.current === version);
  if (sealing.length > 0) {
    throw new OperatorError(
      `${sealing.length} live instance(s) still seal under ${v(version)} (${sealing.map((i) => i.instanceId)}); ` +
        'wait for them to reload (at most 30 s) and try again',
    );
  }
  await deps.db.withSystem(async (tx) => {
    const now = await readDecision(tx);
    await writeDecision(tx, { current: now.current, retired: [...now.retired, version] }, deps.clock.now());
  });
  let removedFromFile = false;
  if (keyring.source === 'file' && keyring.file) {
    const kept = fileEntries(keyring.file).filter((e) => !e.startsWith(`${v(version)}:`));
    writeKeyFile(keyring.file, kept);
    removedFromFile = true;
  }
  await refreshLocal(deps);
  await deps.announce();
  return { removedFromFile };
}

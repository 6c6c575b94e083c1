import type { SealedRecord, SealedValues } from './sealed.js';
import { keyVersionOf, rewrap } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Database } from '../db/database.js';

export const DEFAULT_BATCH = 200;

/** Per value name, how many records each key version wraps ('unreadable': not a sealed value at all). */
export type VersionCounts = Record<string, Record<string, number>>;

export interface RewrapProgress {
  name: string;
  /** Records re-wrapped so far, over every value. */
  done: number;
  /** Records that needed it when the run began. */
  total: number;
}

export interface RewrapResult {
  rewrapped: number;
  /** Records that changed between reading and writing, read again. */
  reread: number;
  /** Records that could not be opened (named, never shown): they keep their old wrap. */
  failed: { name: string; key: string; reason: string }[];
  /** Counts after the run. */
  counts: VersionCounts;
  /** True when the signal stopped the run before the end: running again continues. */
  interrupted: boolean;
}

function versionOf(record: SealedRecord): string {
  try {
    return `v${keyVersionOf(record.sealed)}`;
  } catch {
    return 'unreadable';
  }
}

/** D3: how many records of each value each master key version wraps. */
export async function countVersions(db: Database, values: readonly SealedValues[], batch = DEFAULT_BATCH) {
  const counts: VersionCounts = {};
  for (const value of values) {
    const mine: Record<string, number> = {};
    counts[value.name] = mine;
    let after: string | undefined;
    for (;;) {
      const page = await db.withSystem((tx) => value.page(tx, after, batch));
      for (const record of page) {
        const v = versionOf(record);
        mine[v] = (mine[v] ?? 0) + 1;
      }
      if (page.length < batch) break;
      after = page.at(-1)?.key;
    }
  }
  return counts;
}

/** Records under versions other than `current`, over every value. */
export function needingRewrap(counts: VersionCounts, current: number): number {
  let n = 0;
  for (const perVersion of Object.values(counts))
    for (const [v, count] of Object.entries(perVersion)) if (v !== `v${current}` && v !== 'unreadable') n += count;
  return n;
}

/** Records of each value still wrapped by `version`: what retiring it would break. */
export function recordsUnder(counts: VersionCounts, version: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, perVersion] of Object.entries(counts)) {
    const n = perVersion[`v${version}`];
    if (n) out[name] = n;
  }
  return out;
}

/**
 * D3: re-wraps every declared sealed value not under the current version, online: a batch per
 * transaction, each write a compare-and-set (a record changed meanwhile is read again). Records
 * already current are skipped, so a second run continues where an interrupted one stopped.
 */
export async function rewrapAll(deps: {
  db: Database;
  keyring: Keyring;
  values: readonly SealedValues[];
  batch?: number;
  onProgress?: (progress: RewrapProgress) => void;
  signal?: AbortSignal;
}): Promise<RewrapResult> {
  const { db, keyring, values } = deps;
  const batch = deps.batch ?? DEFAULT_BATCH;
  const current = keyring.current;
  const total = needingRewrap(await countVersions(db, values, batch), current);
  const result: RewrapResult = { rewrapped: 0, reread: 0, failed: [], counts: {}, interrupted: false };
  const stopped = () => deps.signal?.aborted === true;
  deps.onProgress?.({ name: '', done: 0, total });

  for (const value of values) {
    if (stopped()) break;
    await (async () => {
      let after: string | undefined;
      for (;;) {
        if (stopped()) return;
        const { page, retry } = await db.withSystem(async (tx) => {
          const page = await value.page(tx, after, batch);
          let retry = false;
          for (const record of page) {
            if (versionOf(record) === `v${current}` || versionOf(record) === 'unreadable') continue;
            let next: string;
            try {
              next = rewrap(keyring, record.sealed, record.context);
            } catch (err) {
              // A batch read again (after a changed record) meets the same failure: name it once.
              if (!result.failed.some((f) => f.name === value.name && f.key === record.key))
                result.failed.push({ name: value.name, key: record.key, reason: (err as Error).message });
              continue;
            }
            if (await value.replace(tx, record.key, record.sealed, next)) result.rewrapped++;
            else {
              result.reread++;
              retry = true;
            }
          }
          return { page, retry };
        });
        deps.onProgress?.({ name: value.name, done: result.rewrapped, total });
        // A record changed meanwhile: this batch again (its records, now current, are skipped).
        if (retry && result.reread < 1000) continue;
        if (page.length < batch) return;
        after = page.at(-1)?.key;
      }
    })();
  }
  result.interrupted = stopped();
  result.counts = await countVersions(db, values, batch);
  return result;
}

import type { Tenancy, Tx } from '../db/database.js';
import type { KeyringDecision } from '../crypto/live-keyring.js';

/** The events-bus channel on which rotation asks every instance to re-read its keys and the decision. */
export const KEYRING_CHANNEL = 'keyring';
/** How often an instance re-reads its key file and the decision, and says what it holds. */
export const RELOAD_INTERVAL_MS = 30_000;
/** An instance seen within this long is live: rotation waits for it, the trust check compares it. */
export const LIVE_WINDOW_MS = 60_000;

export interface InstanceReport {
  instanceId: string;
  versions: number[];
  current: number;
  source: 'env' | 'file';
  seenAt: Date;
}

export interface KeyringStateRow extends KeyringDecision {
  updatedAt: Date | null;
}

const numbers = (values: readonly (string | number)[]) => values.map(Number).sort((a, b) => a - b);

export async function readDecision(tx: Tx): Promise<KeyringStateRow> {
  const row = await tx
    .selectFrom('keyring_state')
    .select(['current_version', 'retired_versions', 'updated_at'])
    .executeTakeFirst();
  if (!row) return { current: null, retired: [], updatedAt: null };
  return {
    current: row.current_version === null ? null : Number(row.current_version),
    retired: numbers(row.retired_versions),
    updatedAt: row.updated_at,
  };
}

/** Writes the decision (the single row), creating it the first time. */
export async function writeDecision(tx: Tx, decision: KeyringDecision, now: Date): Promise<void> {
  const values = { current_version: decision.current, retired_versions: [...decision.retired], updated_at: now };
  await tx
    .insertInto('keyring_state')
    .values({ id: 1, ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute();
}

/** The first instance of a deployment decides its current version: the highest it holds. */
export async function ensureDecision(tx: Tx, current: number, now: Date): Promise<void> {
  await tx
    .insertInto('keyring_state')
    .values({ id: 1, current_version: current, retired_versions: [], updated_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await tx
    .updateTable('keyring_state')
    .set({ current_version: current, updated_at: now })
    .where('current_version', 'is', null)
    .execute();
}

export async function reportInstance(db: Tenancy, report: InstanceReport): Promise<void> {
  const values = {
    versions: report.versions,
    current_version: report.current,
    source: report.source,
    seen_at: report.seenAt,
  };
  await db.withSystem((tx) =>
    tx
      .insertInto('keyring_instances')
      .values({ instance_id: report.instanceId, ...values })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
      .execute(),
  );
}

export async function forgetInstance(db: Tenancy, instanceId: string): Promise<void> {
  await db.withSystem((tx) => tx.deleteFrom('keyring_instances').where('instance_id', '=', instanceId).execute());
}

/** Instances seen within the live window before `now`, oldest report dropped after a day. */
export async function liveInstances(tx: Tx, now: Date): Promise<InstanceReport[]> {
  await tx
    .deleteFrom('keyring_instances')
    .where('seen_at', '<', new Date(now.getTime() - 24 * 3600_000))
    .execute();
  const rows = await tx
    .selectFrom('keyring_instances')
    .selectAll()
    .where('seen_at', '>=', new Date(now.getTime() - LIVE_WINDOW_MS))
    .orderBy('instance_id')
    .execute();
  return rows.map((r) => ({
    instanceId: r.instance_id,
    versions: numbers(r.versions),
    current: Number(r.current_version),
    source: r.source,
    seenAt: r.seen_at,
  }));
}

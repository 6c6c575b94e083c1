import type { Tx } from '../platform/db/database.js';
import type { TrustStatus } from '../platform/db/tables.js';

export interface StoredResult {
  checkId: string;
  control: string;
  status: TrustStatus;
  detail: string;
  checkedAt: Date;
  changedAt: Date;
}

export interface StatusChange {
  checkId: string;
  control: string;
  status: TrustStatus;
  previousStatus: TrustStatus | null;
  detail: string;
  changedAt: Date;
}

const MAX_DETAIL = 1000;
export const clip = (detail: string) => (detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail);

export async function allResults(tx: Tx): Promise<StoredResult[]> {
  const rows = await tx.selectFrom('trust_check_results').selectAll().orderBy('check_id').execute();
  return rows.map((r) => ({
    checkId: r.check_id,
    control: r.control,
    status: r.status,
    detail: r.detail,
    checkedAt: r.checked_at,
    changedAt: r.changed_at,
  }));
}

/**
 * Records one check's result. Instances share the table: the row is locked, a result older than
 * the stored one is dropped, and a change of status is kept in the history. True when it changed.
 */
export async function recordResult(
  tx: Tx,
  r: { checkId: string; control: string; status: TrustStatus; detail: string; checkedAt: Date },
): Promise<boolean> {
  const detail = clip(r.detail);
  const prior = await tx
    .selectFrom('trust_check_results')
    .select(['status', 'checked_at'])
    .where('check_id', '=', r.checkId)
    .forUpdate()
    .executeTakeFirst();
  if (prior && prior.checked_at.getTime() > r.checkedAt.getTime()) return false;
  const changed = !prior || prior.status !== r.status;
  if (!prior) {
    await tx
      .insertInto('trust_check_results')
      .values({
        check_id: r.checkId,
        control: r.control,
        status: r.status,
        detail,
        checked_at: r.checkedAt,
        changed_at: r.checkedAt,
      })
      .onConflict((oc) =>
        oc.column('check_id').doUpdateSet({ status: r.status, detail, checked_at: r.checkedAt, control: r.control }),
      )
      .execute();
  } else {
    await tx
      .updateTable('trust_check_results')
      .set({
        control: r.control,
        status: r.status,
        detail,
        checked_at: r.checkedAt,
        ...(changed ? { changed_at: r.checkedAt } : {}),
      })
      .where('check_id', '=', r.checkId)
      .execute();
  }
  if (changed) {
    await tx
      .insertInto('trust_check_changes')
      .values({
        check_id: r.checkId,
        control: r.control,
        status: r.status,
        previous_status: prior?.status ?? null,
        detail,
        changed_at: r.checkedAt,
      })
      .execute();
  }
  return changed;
}

export async function recentChanges(tx: Tx, limit: number): Promise<StatusChange[]> {
  const rows = await tx
    .selectFrom('trust_check_changes')
    .selectAll()
    .orderBy('changed_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    checkId: r.check_id,
    control: r.control,
    status: r.status,
    previousStatus: r.previous_status,
    detail: r.detail,
    changedAt: r.changed_at,
  }));
}

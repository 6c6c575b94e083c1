import type { Insertable, Selectable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { DisclosureReportsTable, DisclosureStatus, DisclosureTimelineTable } from '../platform/db/tables.js';

/* The queries on the tables disclosure owns, each taking the transaction first. */

export type ReportRow = Selectable<DisclosureReportsTable>;

/** Spends a form token: false when it was spent before (a replay). */
export async function spendFormToken(tx: Tx, nonceHash: string, expiresAt: Date): Promise<boolean> {
  const row = await tx
    .insertInto('disclosure_form_tokens')
    .values({ nonce_hash: nonceHash, expires_at: expiresAt })
    .onConflict((oc) => oc.column('nonce_hash').doNothing())
    .returning('nonce_hash')
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteSpentTokens(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('disclosure_form_tokens').where('expires_at', '<', before).execute();
}

export function insertReport(tx: Tx, row: Insertable<DisclosureReportsTable>) {
  return tx.insertInto('disclosure_reports').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function insertTimeline(tx: Tx, row: Insertable<DisclosureTimelineTable>): Promise<void> {
  await tx.insertInto('disclosure_timeline').values(row).execute();
}

export const reportById = (tx: Tx, id: string) =>
  tx.selectFrom('disclosure_reports').selectAll().where('id', '=', id).executeTakeFirst();

export const lockReport = (tx: Tx, id: string) =>
  tx.selectFrom('disclosure_reports').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();

export const reportByTokenHash = (tx: Tx, hash: string) =>
  tx.selectFrom('disclosure_reports').selectAll().where('status_token_hash', '=', hash).executeTakeFirst();

export const listReports = (tx: Tx, limit: number) =>
  tx.selectFrom('disclosure_reports').selectAll().orderBy('received_at', 'desc').limit(limit).execute();

export const timelineOf = (tx: Tx, reportId: string) =>
  tx
    .selectFrom('disclosure_timeline')
    .selectAll()
    .where('report_id', '=', reportId)
    .orderBy('at')
    .orderBy('id')
    .execute();

export async function setStatus(
  tx: Tx,
  id: string,
  set: { status: DisclosureStatus; acknowledged_at?: Date; resolved_at?: Date | null },
): Promise<void> {
  await tx.updateTable('disclosure_reports').set(set).where('id', '=', id).execute();
}

/** Unacknowledged reports past their deadline. */
export async function overdueCount(tx: Tx, now: Date): Promise<number> {
  const row = await tx
    .selectFrom('disclosure_reports')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('acknowledged_at', 'is', null)
    .where('ack_due_at', '<=', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Claims the reports whose deadline passed unannounced: each comes back once, to one instance. */
export const claimMissedDeadlines = (tx: Tx, now: Date) =>
  tx
    .updateTable('disclosure_reports')
    .set({ deadline_notified_at: now })
    .where('acknowledged_at', 'is', null)
    .where('ack_due_at', '<=', now)
    .where('deadline_notified_at', 'is', null)
    .returning(['id', 'reference', 'summary', 'received_at', 'ack_due_at'])
    .execute();

/** Resolved reports whose reporter asked to be credited, newest first. */
export const credited = (tx: Tx) =>
  tx
    .selectFrom('disclosure_reports')
    .select(['credit_name', 'resolved_at'])
    .where('status', '=', 'resolved')
    .where('credit_name', 'is not', null)
    .orderBy('resolved_at', 'desc')
    .limit(500)
    .execute();

export const ackBusinessDays = async (tx: Tx) =>
  (await tx.selectFrom('disclosure_settings').select('ack_business_days').executeTakeFirst())?.ack_business_days;

export async function saveAckBusinessDays(tx: Tx, days: number, now: Date): Promise<void> {
  await tx
    .insertInto('disclosure_settings')
    .values({ id: 1, ack_business_days: days, updated_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ ack_business_days: days, updated_at: now }))
    .execute();
}

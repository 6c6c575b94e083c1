import type { Insertable, Updateable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { IncidentsTable } from '../platform/db/tables.js';
import type { DeadlineKey } from './model.js';

/* The queries of the incidents feature, each in the caller's transaction (system, or one tenant's). */

export const targets = (tx: Tx) => tx.selectFrom('incident_settings').selectAll().executeTakeFirst();

export async function saveTargets(
  tx: Tx,
  row: {
    critical_minutes: number;
    high_minutes: number;
    medium_minutes: number;
    low_minutes: number;
    updated_at: Date;
  },
): Promise<void> {
  await tx
    .insertInto('incident_settings')
    .values({ id: 1, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

export const insertIncident = (tx: Tx, row: Insertable<IncidentsTable>) =>
  tx.insertInto('incidents').values(row).returningAll().executeTakeFirstOrThrow();

/** The open draft of a probe's component, made once even when instances race (the partial unique index). */
export const insertProbeDraft = (tx: Tx, row: Insertable<IncidentsTable>) =>
  tx
    .insertInto('incidents')
    .values(row)
    .onConflict((oc) =>
      oc.column('probe_component').where('draft', '=', true).where('closed_at', 'is', null).doNothing(),
    )
    .returning('id')
    .executeTakeFirst();

export const openProbeDraft = (tx: Tx, component: string) =>
  tx
    .selectFrom('incidents')
    .select('id')
    .where('probe_component', '=', component)
    .where('draft', '=', true)
    .where('closed_at', 'is', null)
    .executeTakeFirst();

export const incident = (tx: Tx, id: string) =>
  tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();

export const lockIncident = (tx: Tx, id: string) =>
  tx.selectFrom('incidents').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();

export const updateIncident = (tx: Tx, id: string, set: Updateable<IncidentsTable>) =>
  tx.updateTable('incidents').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();

export const listIncidents = (tx: Tx, limit: number) =>
  tx.selectFrom('incidents').selectAll().orderBy('declared_at', 'desc').orderBy('id').limit(limit).execute();

export const breaches = (tx: Tx) =>
  tx.selectFrom('incidents').selectAll().where('breach', '=', true).orderBy('aware_at', 'desc').execute();

/** Public incidents whose impact overlaps [since, now], and maintenance whose window ends after since. */
export const publicSince = (tx: Tx, since: Date, now: Date) =>
  tx
    .selectFrom('incidents')
    .selectAll()
    .where('public', '=', true)
    .where('draft', '=', false)
    .where((eb) =>
      eb.or([
        eb.and([
          eb('kind', '=', 'incident'),
          eb('started_at', '<=', now),
          eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>=', since)]),
        ]),
        eb.and([eb('kind', '=', 'maintenance'), eb('scheduled_end', '>=', since)]),
      ]),
    )
    .orderBy('started_at', 'desc')
    .execute();

export const insertUpdate = (
  tx: Tx,
  row: {
    incident_id: string;
    at: Date;
    phase: IncidentsTable['phase'];
    message: string;
    public: boolean;
    author: string;
  },
) => tx.insertInto('incident_updates').values(row).returningAll().executeTakeFirstOrThrow();

export const updatesOf = (tx: Tx, ids: string[]) =>
  ids.length === 0
    ? Promise.resolve([])
    : tx.selectFrom('incident_updates').selectAll().where('incident_id', 'in', ids).orderBy('at', 'desc').execute();

export const affectedOrgs = (tx: Tx, ids: string[]) =>
  ids.length === 0
    ? Promise.resolve([])
    : tx
        .selectFrom('incident_affected_orgs')
        .selectAll()
        .where('incident_id', 'in', ids)
        .orderBy('notified_at')
        .execute();

export async function insertAffectedOrg(
  tx: Tx,
  row: { incident_id: string; org_id: string; org_name: string; notified_at: Date; recipients: number },
): Promise<boolean> {
  const r = await tx
    .insertInto('incident_affected_orgs')
    .values(row)
    .onConflict((oc) => oc.columns(['incident_id', 'org_id']).doNothing())
    .returning('org_id')
    .executeTakeFirst();
  return r !== undefined;
}

const MAILED = {
  customers: 'customers_overdue_mailed_at',
  regulator: 'regulator_overdue_mailed_at',
  report: 'report_overdue_mailed_at',
} as const;
const DONE = {
  customers: 'customers_notified_at',
  regulator: 'regulator_notified_at',
  report: 'full_report_at',
} as const;

/**
 * Claims the overdue deadlines of one kind that nobody mailed yet: the conditional update lets one
 * instance (one run) have each, however many run at once.
 */
export const claimOverdue = (tx: Tx, key: DeadlineKey, dueBefore: Date, now: Date) => {
  let q = tx
    .updateTable('incidents')
    .set({ [MAILED[key]]: now })
    .where('breach', '=', true)
    .where(MAILED[key], 'is', null)
    .where(DONE[key], 'is', null)
    .where('aware_at', '<', dueBefore);
  if (key === 'regulator') q = q.where('regulator_required', '=', true);
  return q.returning(['id', 'title', 'aware_at']).execute();
};

export async function unclaim(tx: Tx, key: DeadlineKey, id: string): Promise<void> {
  await tx
    .updateTable('incidents')
    .set({ [MAILED[key]]: null })
    .where('id', '=', id)
    .execute();
}

export const insertNotice = (
  tx: Tx,
  row: { org_id: string; incident_id: string; title: string; body: string; published_at: Date },
) =>
  tx
    .insertInto('security_notices')
    .values(row)
    .onConflict((oc) => oc.columns(['org_id', 'incident_id']).doNothing())
    .returning('id')
    .executeTakeFirst();

export const noticesOf = (tx: Tx, orgId: string) =>
  tx.selectFrom('security_notices').selectAll().where('org_id', '=', orgId).orderBy('published_at', 'desc').execute();

import type { Selectable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { StatusComponentsTable, StatusProbesTable } from '../platform/db/tables.js';
import type { ComponentState } from './states.js';
import type { DayCounts } from './uptime.js';

/* The queries of the status page, each in the caller's (system) transaction. */

export type ComponentRow = Selectable<StatusComponentsTable>;
export type ProbeRow = Selectable<StatusProbesTable>;

export const listComponents = (tx: Tx) =>
  tx.selectFrom('status_components').selectAll().orderBy('position').orderBy('name').execute();

export const component = (tx: Tx, id: string) =>
  tx.selectFrom('status_components').selectAll().where('id', '=', id).executeTakeFirst();

export const componentNamed = (tx: Tx, name: string) =>
  tx
    .selectFrom('status_components')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase()))
    .executeTakeFirst();

export async function nextPosition(tx: Tx): Promise<number> {
  const row = await tx
    .selectFrom('status_components')
    .select((eb) => eb.fn.max('position').as('max'))
    .executeTakeFirst();
  return row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
}

export async function insertComponent(tx: Tx, row: ComponentRow): Promise<void> {
  await tx.insertInto('status_components').values(row).execute();
}

export async function updateComponent(
  tx: Tx,
  id: string,
  set: Partial<Pick<ComponentRow, 'name' | 'description' | 'position' | 'operator_state'>> & { updated_at: Date },
): Promise<boolean> {
  const r = await tx.updateTable('status_components').set(set).where('id', '=', id).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export async function deleteComponent(tx: Tx, id: string): Promise<boolean> {
  const r = await tx.deleteFrom('status_components').where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

/** Whether this instance is the one recording `minute` (the insert that wins). */
export async function claimMinute(tx: Tx, minute: Date): Promise<boolean> {
  const row = await tx
    .insertInto('status_minutes')
    .values({ minute })
    .onConflict((oc) => oc.column('minute').doNothing())
    .returning('minute')
    .executeTakeFirst();
  return row !== undefined;
}

export async function pruneMinutes(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('status_minutes').where('minute', '<', before).execute();
}

/** Adds one day's counts to a component's row (the minute was claimed first). */
export async function addToDay(tx: Tx, componentId: string, day: string, add: DayCounts): Promise<void> {
  await tx
    .insertInto('status_days')
    .values({ component_id: componentId, day, ...add })
    .onConflict((oc) =>
      oc.columns(['component_id', 'day']).doUpdateSet((eb) => ({
        observed: eb('status_days.observed', '+', eb.ref('excluded.observed')),
        degraded: eb('status_days.degraded', '+', eb.ref('excluded.degraded')),
        partial: eb('status_days.partial', '+', eb.ref('excluded.partial')),
        major: eb('status_days.major', '+', eb.ref('excluded.major')),
        maintenance: eb('status_days.maintenance', '+', eb.ref('excluded.maintenance')),
      })),
    )
    .execute();
}

export const daysSince = (tx: Tx, firstDay: string) =>
  tx.selectFrom('status_days').selectAll().where('day', '>=', firstDay).execute();

export async function pruneDays(tx: Tx, beforeDay: string): Promise<void> {
  await tx.deleteFrom('status_days').where('day', '<', beforeDay).execute();
}

// Probes

export const listProbes = (tx: Tx) =>
  tx.selectFrom('status_probes').selectAll().orderBy('component_id').orderBy('created_at').execute();

export const insertProbe = (
  tx: Tx,
  row: { component_id: string; url: string; expected_status: number; created_at: Date },
) => tx.insertInto('status_probes').values(row).returningAll().executeTakeFirstOrThrow();

export async function deleteProbe(tx: Tx, id: string): Promise<ProbeRow | undefined> {
  return tx.deleteFrom('status_probes').where('id', '=', id).returningAll().executeTakeFirst();
}

/** The probes due now, claimed for this run so another instance does not check them too. */
export function claimDueProbes(tx: Tx, now: Date, until: Date) {
  return tx
    .updateTable('status_probes')
    .set({ claimed_until: until })
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
    .returningAll()
    .execute();
}

export async function recordProbe(
  tx: Tx,
  probe: ProbeRow,
  result: { at: Date; ok: boolean; httpStatus: number | null; durationMs: number; detail: string },
): Promise<number> {
  await tx
    .insertInto('status_probe_results')
    .values({
      probe_id: probe.id,
      checked_at: result.at,
      ok: result.ok,
      http_status: result.httpStatus,
      duration_ms: result.durationMs,
      detail: result.detail,
    })
    .execute();
  const row = await tx
    .updateTable('status_probes')
    .set((eb) => ({
      failures: result.ok ? 0 : eb('failures', '+', 1),
      last_checked_at: result.at,
      last_ok: result.ok,
      last_detail: result.detail,
      ...(result.ok ? { draft_incident_id: null } : {}),
    }))
    .where('id', '=', probe.id)
    .returning('failures')
    .executeTakeFirst();
  return row?.failures ?? 0;
}

export async function setProbeDraft(tx: Tx, probeId: string, incidentId: string): Promise<void> {
  await tx.updateTable('status_probes').set({ draft_incident_id: incidentId }).where('id', '=', probeId).execute();
}

export const probeResults = (tx: Tx, probeId: string, limit: number) =>
  tx
    .selectFrom('status_probe_results')
    .selectAll()
    .where('probe_id', '=', probeId)
    .orderBy('checked_at', 'desc')
    .limit(limit)
    .execute();

export async function pruneProbeResults(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('status_probe_results').where('checked_at', '<', before).execute();
}

export type ComponentStateRow = { id: string; state: ComponentState };

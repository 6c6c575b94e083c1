import type { Tx } from '../platform/db/database.js';
import type { ConnectionStatus, VaultConnectionsTable } from '../platform/db/tables.js';
import type { Selectable } from 'kysely';

export type ConnectionRow = Selectable<VaultConnectionsTable>;

export const connection = (tx: Tx, orgId: string, id: string) =>
  tx.selectFrom('vault_connections').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();

export const connections = (tx: Tx, orgId: string) =>
  tx.selectFrom('vault_connections').selectAll().where('org_id', '=', orgId).orderBy('label').execute();

export const secrets = (tx: Tx, orgId: string, connectionId: string) =>
  tx
    .selectFrom('vault_secrets')
    .select(['field', 'sealed'])
    .where('org_id', '=', orgId)
    .where('connection_id', '=', connectionId)
    .execute();

export async function putSecrets(
  tx: Tx,
  orgId: string,
  connectionId: string,
  sealed: ReadonlyArray<{ field: string; sealed: string }>,
): Promise<void> {
  await tx.deleteFrom('vault_secrets').where('org_id', '=', orgId).where('connection_id', '=', connectionId).execute();
  await tx
    .insertInto('vault_secrets')
    .values(sealed.map((s) => ({ connection_id: connectionId, org_id: orgId, field: s.field, sealed: s.sealed })))
    .execute();
}

export const labelTaken = async (tx: Tx, orgId: string, label: string, except?: string) =>
  Boolean(
    await tx
      .selectFrom('vault_connections')
      .select('id')
      .where('org_id', '=', orgId)
      .where('label', '=', label)
      .$if(except !== undefined, (q) => q.where('id', '!=', except!))
      .executeTakeFirst(),
  );

/** Sets the status only if it is still `from` (several instances may check at once); true when this one did. */
export async function moveStatus(
  tx: Tx,
  orgId: string,
  id: string,
  from: { status: ConnectionStatus; fingerprint: string },
  to: { status: ConnectionStatus; detail: string | null; at: Date },
): Promise<boolean> {
  const r = await tx
    .updateTable('vault_connections')
    .set({ status: to.status, status_detail: to.detail, checked_at: to.at, updated_at: to.at })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', '=', from.status)
    .where('fingerprint', '=', from.fingerprint)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** System context: every api_key connection whose provider can check it (the scheduled re-check). */
export const checkable = (tx: Tx) =>
  tx
    .selectFrom('vault_connections as c')
    .innerJoin('vault_providers as p', 'p.id', 'c.provider_id')
    .select(['c.id', 'c.org_id', 'c.status', 'c.fingerprint'])
    .where('c.kind', '=', 'api_key')
    .where('p.validation_path', 'is not', null)
    .orderBy('c.id')
    .execute();

import type { Selectable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { OperatorTokensTable } from '../platform/db/tables.js';

/* The queries of the operator feature, each in the caller's (system) transaction. */

export type TokenRow = Selectable<OperatorTokensTable>;

export const insertToken = (tx: Tx, row: { name: string; token_hash: string; created_at: Date }) =>
  tx.insertInto('operator_tokens').values(row).returningAll().executeTakeFirstOrThrow();

export const liveTokenNamed = (tx: Tx, name: string) =>
  tx
    .selectFrom('operator_tokens')
    .selectAll()
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();

export const liveTokenWithId = (tx: Tx, id: string) =>
  tx.selectFrom('operator_tokens').selectAll().where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();

export const liveTokenByHash = (tx: Tx, tokenHash: string) =>
  tx
    .selectFrom('operator_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();

export const listTokens = (tx: Tx) =>
  tx.selectFrom('operator_tokens').selectAll().orderBy('created_at').orderBy('name').execute();

export async function revokeToken(tx: Tx, id: string, at: Date): Promise<void> {
  await tx.updateTable('operator_tokens').set({ revoked_at: at }).where('id', '=', id).execute();
}

export async function touchToken(tx: Tx, id: string, at: Date): Promise<void> {
  await tx.updateTable('operator_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}

import type { Selectable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { DeploymentSettingsTable, OperatorTokensTable } from '../platform/db/tables.js';

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

export const operatorUser = (tx: Tx, userId: string) =>
  tx.selectFrom('operator_users').select('granted_at').where('user_id', '=', userId).executeTakeFirst();

export const userIdByEmail = async (tx: Tx, email: string) =>
  (await tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst())?.id;

export async function grantUser(tx: Tx, userId: string, at: Date): Promise<boolean> {
  const row = await tx
    .insertInto('operator_users')
    .values({ user_id: userId, granted_at: at })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function ungrantUser(tx: Tx, userId: string): Promise<boolean> {
  const result = await tx.deleteFrom('operator_users').where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export const listUsers = (tx: Tx) =>
  tx
    .selectFrom('operator_users')
    .innerJoin('users', 'users.id', 'operator_users.user_id')
    .select(['users.email', 'operator_users.granted_at'])
    .orderBy('users.email')
    .execute();

export type SettingsRow = Selectable<DeploymentSettingsTable>;

export const settings = (tx: Tx) => tx.selectFrom('deployment_settings').selectAll().executeTakeFirst();

export async function saveSettings(tx: Tx, row: Omit<SettingsRow, 'id'>): Promise<void> {
  await tx
    .insertInto('deployment_settings')
    .values({ id: 1, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

import type { Insertable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type {
  ExternalIdentitiesTable,
  ExternalSigninFlowsTable,
  UpstreamProvidersTable,
} from '../platform/db/tables.js';

/* The queries on the tables external sign-in owns, each taking the transaction first. */

// ---- upstream providers ----

export function insertProviderUnlessTaken(tx: Tx, row: Insertable<UpstreamProvidersTable>) {
  return tx
    .insertInto('upstream_providers')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
}

export function listProviders(tx: Tx) {
  return tx.selectFrom('upstream_providers').selectAll().orderBy('name').orderBy('id').execute();
}

export function findProvider(tx: Tx, id: string) {
  return tx.selectFrom('upstream_providers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Deletes a provider (its links and flows go with it): the accounts it was linked to, or undefined if none. */
export async function deleteProvider(tx: Tx, id: string): Promise<string[] | undefined> {
  const links = await tx.selectFrom('external_identities').select('user_id').where('provider_id', '=', id).execute();
  const gone = await tx.deleteFrom('upstream_providers').where('id', '=', id).returning('id').executeTakeFirst();
  return gone ? links.map((l) => l.user_id) : undefined;
}

// ---- flows ----

export async function insertFlow(tx: Tx, row: Insertable<ExternalSigninFlowsTable>): Promise<void> {
  await tx.insertInto('external_signin_flows').values(row).execute();
}

/** A flow by the hash of its state, row-locked until the transaction ends. */
export function lockFlow(tx: Tx, stateHash: string) {
  return tx
    .selectFrom('external_signin_flows')
    .selectAll()
    .where('state_hash', '=', stateHash)
    .forUpdate()
    .executeTakeFirst();
}

export async function spendFlow(tx: Tx, stateHash: string, now: Date): Promise<void> {
  await tx.updateTable('external_signin_flows').set({ used_at: now }).where('state_hash', '=', stateHash).execute();
}

/** Flows expired a day ago or more (kept that long so a late replay is still told it was used). */
export async function deleteExpiredFlows(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('external_signin_flows').where('expires_at', '<', before).execute();
}

// ---- linked identities ----

/** Links an upstream identity unless it, or this provider for this account, is linked already. */
export function insertIdentityUnlessTaken(tx: Tx, row: Insertable<ExternalIdentitiesTable>) {
  return tx
    .insertInto('external_identities')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
}

export function findIdentity(tx: Tx, issuer: string, subject: string) {
  return tx
    .selectFrom('external_identities')
    .select(['id', 'user_id', 'provider_id'])
    .where('issuer', '=', issuer)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

export function identityOfProvider(tx: Tx, userId: string, providerId: string) {
  return tx
    .selectFrom('external_identities')
    .select('id')
    .where('user_id', '=', userId)
    .where('provider_id', '=', providerId)
    .executeTakeFirst();
}

export async function touchIdentity(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('external_identities').set({ last_used_at: now }).where('id', '=', id).execute();
}

/** A person's linked identities with their provider's name, oldest first. */
export function identitiesOf(tx: Tx, userId: string) {
  return tx
    .selectFrom('external_identities')
    .innerJoin('upstream_providers', 'upstream_providers.id', 'external_identities.provider_id')
    .select([
      'external_identities.id',
      'external_identities.provider_id',
      'upstream_providers.name as provider_name',
      'external_identities.email',
      'external_identities.created_at',
      'external_identities.last_used_at',
    ])
    .where('external_identities.user_id', '=', userId)
    .orderBy('external_identities.created_at')
    .execute();
}

/** Deletes one of a person's links; its provider, or undefined when it was not theirs. */
export function deleteIdentity(tx: Tx, userId: string, id: string) {
  return tx
    .deleteFrom('external_identities')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning(['provider_id', 'issuer', 'subject'])
    .executeTakeFirst();
}

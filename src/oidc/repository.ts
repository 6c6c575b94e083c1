import type { Tx } from '../platform/db/database.js';
import type { OidcClientsTable, OidcGrantsTable } from '../platform/db/tables.js';
import type { Selectable } from 'kysely';

/*
 * The queries of the oidc feature: registered clients, oidc-provider's artifacts, what each grant
 * speaks for, and the signing keys. Each takes the caller's (system) transaction first.
 */

export type ClientRow = Selectable<OidcClientsTable>;

// --- clients ---

export const findClient = (tx: Tx, clientId: string) =>
  tx.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();

export const listClients = (tx: Tx) => tx.selectFrom('oidc_clients').selectAll().orderBy('client_id').execute();

export async function insertClient(tx: Tx, row: ClientRow): Promise<void> {
  await tx.insertInto('oidc_clients').values(row).execute();
}

export async function deleteClient(tx: Tx, clientId: string): Promise<boolean> {
  const res = await tx.deleteFrom('oidc_clients').where('client_id', '=', clientId).executeTakeFirst();
  await tx.deleteFrom('oidc_artifacts').where('client_id', '=', clientId).execute();
  return res.numDeletedRows > 0n;
}

// --- oidc-provider artifacts ---

export interface ArtifactRow {
  payload: Record<string, unknown>;
  expires_at: Date | null;
  consumed_at: Date | null;
}

export async function upsertArtifact(
  tx: Tx,
  model: string,
  id: string,
  payload: Record<string, unknown>,
  expiresAt: Date | null,
): Promise<void> {
  const values = {
    model,
    id,
    payload: JSON.stringify(payload),
    grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
    client_id: typeof payload.clientId === 'string' ? payload.clientId : null,
    uid: typeof payload.uid === 'string' ? payload.uid : null,
    expires_at: expiresAt,
  };
  await tx
    .insertInto('oidc_artifacts')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['model', 'id']).doUpdateSet({
        payload: values.payload,
        grant_id: values.grant_id,
        client_id: values.client_id,
        uid: values.uid,
        expires_at: values.expires_at,
      }),
    )
    .execute();
}

export const findArtifact = (tx: Tx, model: string, column: 'id' | 'uid', value: string) =>
  tx
    .selectFrom('oidc_artifacts')
    .select(['payload', 'expires_at', 'consumed_at'])
    .where('model', '=', model)
    .where(column, '=', value)
    .executeTakeFirst() as Promise<ArtifactRow | undefined>;

/** Marks an artifact used; false when it already was (or is gone): a second use, perhaps a concurrent one. */
export async function consumeArtifact(tx: Tx, model: string, id: string, at: Date): Promise<boolean> {
  const res = await tx
    .updateTable('oidc_artifacts')
    .set({ consumed_at: at })
    .where('model', '=', model)
    .where('id', '=', id)
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

export async function deleteArtifact(tx: Tx, model: string, id: string): Promise<void> {
  await tx.deleteFrom('oidc_artifacts').where('model', '=', model).where('id', '=', id).execute();
}

export async function deleteArtifactsOfGrant(tx: Tx, model: string, grantId: string): Promise<void> {
  await tx.deleteFrom('oidc_artifacts').where('model', '=', model).where('grant_id', '=', grantId).execute();
}

/** Expired artifacts; how many went. */
export async function sweepArtifacts(tx: Tx, now: Date): Promise<number> {
  const res = await tx.deleteFrom('oidc_artifacts').where('expires_at', '<', now).executeTakeFirst();
  return Number(res.numDeletedRows);
}

// --- grants ---

export type GrantRow = Selectable<OidcGrantsTable>;

export async function insertGrant(tx: Tx, row: GrantRow): Promise<void> {
  await tx.insertInto('oidc_grants').values(row).execute();
}

/** The provider sessions (sid) a grant's tokens were issued under. */
export async function sidsOfGrant(tx: Tx, grantId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('oidc_artifacts')
    .select('payload')
    .where('grant_id', '=', grantId)
    .where('model', 'in', ['AuthorizationCode', 'RefreshToken', 'AccessToken'])
    .execute();
  return [...new Set(rows.map((r) => r.payload.sid).filter((sid): sid is string => typeof sid === 'string'))];
}

export const findGrant = (tx: Tx, grantId: string) =>
  tx.selectFrom('oidc_grants').selectAll().where('grant_id', '=', grantId).executeTakeFirst();

/** Grants with each client's back-channel address. */
const grantsWithLogoutUri = (tx: Tx) =>
  tx
    .selectFrom('oidc_grants')
    .innerJoin('oidc_clients', 'oidc_clients.client_id', 'oidc_grants.client_id')
    .select([
      'oidc_grants.grant_id',
      'oidc_grants.client_id',
      'oidc_grants.user_id',
      'oidc_grants.session_id',
      'oidc_clients.backchannel_logout_uri',
    ]);

export interface GrantWithLogoutUri {
  grant_id: string;
  client_id: string;
  user_id: string;
  session_id: string;
  backchannel_logout_uri: string | null;
}

/** The grants Rampart sessions gave. */
export const grantsOfSessions = (tx: Tx, sessionIds: string[]): Promise<GrantWithLogoutUri[]> =>
  grantsWithLogoutUri(tx).where('oidc_grants.session_id', 'in', sessionIds).execute();

/** The grants that speak for an organization (for one member of it, or for all). */
export function grantsForOrg(tx: Tx, orgId: string, userId?: string): Promise<GrantWithLogoutUri[]> {
  const q = grantsWithLogoutUri(tx).where('oidc_grants.chosen_org_id', '=', orgId);
  return (userId ? q.where('oidc_grants.user_id', '=', userId) : q).execute();
}

// --- signing keys ---

export const signingKeys = (tx: Tx) => tx.selectFrom('oidc_signing_keys').selectAll().orderBy('signs_from').execute();

export async function insertSigningKey(
  tx: Tx,
  row: {
    kid: string;
    alg: 'ES256';
    public_jwk: string;
    private_sealed: string;
    created_at: Date;
    signs_from: Date;
  },
): Promise<void> {
  await tx.insertInto('oidc_signing_keys').values(row).execute();
}

export async function retireSigningKeys(tx: Tx, kids: string[], at: Date, unpublishAfter: Date): Promise<void> {
  if (kids.length === 0) return;
  await tx
    .updateTable('oidc_signing_keys')
    .set({ retired_at: at, unpublish_after: unpublishAfter })
    .where('kid', 'in', kids)
    .where('retired_at', 'is', null)
    .execute();
}

export async function deleteUnpublishedKeys(tx: Tx, now: Date): Promise<void> {
  await tx.deleteFrom('oidc_signing_keys').where('unpublish_after', '<', now).execute();
}

// --- back-channel logout deliveries ---

export interface DeliveryRow {
  client_id: string;
  delivered: boolean;
  attempts: number;
  last_error: string | null;
  finished_at: Date;
}

export async function insertDelivery(tx: Tx, row: DeliveryRow): Promise<void> {
  await tx.insertInto('oidc_backchannel_deliveries').values(row).execute();
}

export const recentDeliveries = (tx: Tx, clientId: string, limit: number) =>
  tx
    .selectFrom('oidc_backchannel_deliveries')
    .select(['client_id', 'delivered', 'attempts', 'last_error', 'finished_at'])
    .where('client_id', '=', clientId)
    .orderBy('finished_at', 'desc')
    .limit(limit)
    .execute();

/** Per client: failed deliveries since a time. */
export const failuresSince = (tx: Tx, since: Date) =>
  tx
    .selectFrom('oidc_backchannel_deliveries')
    .select(['client_id', (eb) => eb.fn.countAll<string>().as('failed')])
    .where('delivered', '=', false)
    .where('finished_at', '>=', since)
    .groupBy('client_id')
    .execute();

export async function pruneDeliveries(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('oidc_backchannel_deliveries').where('finished_at', '<', before).execute();
}

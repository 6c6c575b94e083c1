import type { Insertable, Selectable } from 'kysely';
import { seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tx } from '../platform/db/database.js';
import type { VaultConnectionsTable, VaultOauthFlowsTable, VaultProvidersTable } from '../platform/db/tables.js';
import { outboundProblem } from '../platform/outbound.js';
import { oauthError } from './oauth-errors.js';
import { providerSecretContext } from './sealing.js';

/* The queries of OAuth connections (A7), each taking the transaction first. */

export type OauthProviderRow = Selectable<VaultProvidersTable>;
export type OauthFlowRow = Selectable<VaultOauthFlowsTable>;
export type ConnectionRow = Selectable<VaultConnectionsTable>;

export interface OauthProviderInput {
  id: string;
  name: string;
  /** The API hosts the access token may be sent to (useCredential's allow list). */
  allowedHosts: string[];
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  clientId: string;
  /** Absent: a public client (PKCE only), or on an update, keep the secret already stored. */
  clientSecret?: string;
  /** Space-separated, as sent to the provider. */
  scopes: string;
  now: Date;
  /** Dev mode allows http endpoints on this machine (T3). */
  dev: boolean;
}

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const HOST = /^[a-z0-9.-]{1,253}(:\d{1,5})?$/;
const SCOPES = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/** The operator's OAuth provider (system context): validated, its client secret sealed by the master keyring. */
export async function upsertOauthProvider(tx: Tx, keyring: Keyring, input: OauthProviderInput): Promise<void> {
  const bad = (field: string, message: string) =>
    oauthError('oauth_provider_invalid', { fields: [{ field, message }] });
  if (!ID.test(input.id)) throw bad('id', 'lower-case letters, digits and dashes, up to 40');
  const name = input.name.trim();
  if (name.length < 1 || name.length > 60) throw bad('name', '1 to 60 characters');
  const hosts = [...new Set(input.allowedHosts.map((h) => h.trim().toLowerCase()).filter(Boolean))];
  if (hosts.length < 1 || hosts.length > 20 || !hosts.every((h) => HOST.test(h)))
    throw bad('allowedHosts', '1 to 20 host names');
  const endpoints = {
    authorizationEndpoint: input.authorizationEndpoint,
    tokenEndpoint: input.tokenEndpoint,
    ...(input.revocationEndpoint ? { revocationEndpoint: input.revocationEndpoint } : {}),
  };
  for (const [field, url] of Object.entries(endpoints)) {
    const problem = url.length > 500 ? 'is too long' : outboundProblem(url, { dev: input.dev });
    if (problem) throw bad(field, problem);
  }
  if (input.clientId.length < 1 || input.clientId.length > 200) throw bad('clientId', '1 to 200 characters');
  if (input.scopes.length > 1000 || (input.scopes !== '' && !SCOPES.test(input.scopes)))
    throw bad('scopes', 'scope names separated by single spaces');
  if (input.clientSecret !== undefined && (input.clientSecret.length < 1 || input.clientSecret.length > 500))
    throw bad('clientSecret', '1 to 500 characters');
  const sealedSecret =
    input.clientSecret === undefined ? undefined : seal(keyring, input.clientSecret, providerSecretContext(input.id));
  const row = {
    name,
    kind: 'oauth' as const,
    allowed_hosts: hosts,
    auth_style: 'bearer' as const,
    auth_name: null,
    validation_method: null,
    validation_path: null,
    oauth_authorization_endpoint: input.authorizationEndpoint,
    oauth_token_endpoint: input.tokenEndpoint,
    oauth_revocation_endpoint: input.revocationEndpoint ?? null,
    oauth_client_id: input.clientId,
    oauth_scopes: input.scopes || null,
    updated_at: input.now,
  };
  const existing = await tx.selectFrom('vault_providers').select('kind').where('id', '=', input.id).executeTakeFirst();
  if (existing && existing.kind !== 'oauth') throw bad('id', 'is an API-key provider');
  if (existing) {
    await tx
      .updateTable('vault_providers')
      .set({ ...row, ...(sealedSecret !== undefined ? { oauth_client_secret_sealed: sealedSecret } : {}) })
      .where('id', '=', input.id)
      .execute();
    return;
  }
  await tx
    .insertInto('vault_providers')
    .values({ ...row, id: input.id, oauth_client_secret_sealed: sealedSecret ?? null, created_at: input.now })
    .execute();
}

export function oauthProvider(tx: Tx, id: string) {
  return tx
    .selectFrom('vault_providers')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', 'oauth')
    .executeTakeFirst();
}

export function oauthProviders(tx: Tx) {
  return tx.selectFrom('vault_providers').selectAll().where('kind', '=', 'oauth').orderBy('id').execute();
}

// ---- flows (system context: found by the state before the organization is known) ----

export async function insertFlow(tx: Tx, row: Insertable<VaultOauthFlowsTable>): Promise<void> {
  await tx.insertInto('vault_oauth_flows').values(row).execute();
}

export function lockFlow(tx: Tx, stateHash: string) {
  return tx
    .selectFrom('vault_oauth_flows')
    .selectAll()
    .where('state_hash', '=', stateHash)
    .forUpdate()
    .executeTakeFirst();
}

/** Spent before the code is exchanged; the verifier is wiped with it (it has done its work). */
export async function spendFlow(tx: Tx, stateHash: string, now: Date): Promise<void> {
  await tx
    .updateTable('vault_oauth_flows')
    .set({ used_at: now, code_verifier_sealed: '' })
    .where('state_hash', '=', stateHash)
    .execute();
}

export async function deleteFlow(tx: Tx, stateHash: string): Promise<void> {
  await tx.deleteFrom('vault_oauth_flows').where('state_hash', '=', stateHash).execute();
}

/** Flows expired before `before`, spent or not: once expired, a flow's state is refused anyway. */
export async function deleteExpiredFlows(tx: Tx, before: Date): Promise<void> {
  await tx.deleteFrom('vault_oauth_flows').where('expires_at', '<', before).execute();
}

/** The organizations with OAuth connections (system context: the connections' metadata policy). */
export async function orgsWithOauth(tx: Tx): Promise<string[]> {
  const rows = await tx
    .selectFrom('vault_connections')
    .select('org_id')
    .distinct()
    .where('kind', '=', 'oauth')
    .execute();
  return rows.map((r) => r.org_id);
}

// ---- connections (tenant context) ----

export function insertConnection(tx: Tx, row: Insertable<VaultConnectionsTable>) {
  return tx
    .insertInto('vault_connections')
    .values(row)
    .onConflict((oc) => oc.columns(['org_id', 'label']).doNothing())
    .returning('id')
    .executeTakeFirst();
}

export async function putSecret(tx: Tx, row: { connection_id: string; org_id: string; field: string; sealed: string }) {
  await tx
    .insertInto('vault_secrets')
    .values(row)
    .onConflict((oc) => oc.columns(['connection_id', 'field']).doUpdateSet({ sealed: row.sealed }))
    .execute();
}

export async function deleteSecret(tx: Tx, connectionId: string, field: string): Promise<void> {
  await tx.deleteFrom('vault_secrets').where('connection_id', '=', connectionId).where('field', '=', field).execute();
}

export async function secretsOf(tx: Tx, connectionId: string): Promise<Record<string, string>> {
  const rows = await tx
    .selectFrom('vault_secrets')
    .select(['field', 'sealed'])
    .where('connection_id', '=', connectionId)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.field, r.sealed]));
}

export function oauthConnection(tx: Tx, orgId: string, id: string) {
  return tx
    .selectFrom('vault_connections')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('kind', '=', 'oauth')
    .executeTakeFirst();
}

/** The refresh lease: won by one instance only (free when null or past). */
export async function claimLease(tx: Tx, id: string, now: Date, until: Date): Promise<boolean> {
  const won = await tx
    .updateTable('vault_connections')
    .set({ refresh_lease_until: until })
    .where('id', '=', id)
    .where('kind', '=', 'oauth')
    .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<=', now)]))
    .returning('id')
    .executeTakeFirst();
  return won !== undefined;
}

export async function updateConnection(
  tx: Tx,
  id: string,
  set: Partial<Pick<ConnectionRow, 'status' | 'status_detail' | 'checked_at' | 'mask' | 'fingerprint'>> &
    Partial<Pick<ConnectionRow, 'token_expires_at' | 'refresh_lease_until' | 'updated_at'>>,
): Promise<void> {
  await tx.updateTable('vault_connections').set(set).where('id', '=', id).execute();
}

/** Marks the refresh refused, once: false when it was already marked (another instance, an earlier run). */
export async function markRefreshFailed(tx: Tx, id: string, detail: string, now: Date): Promise<boolean> {
  const changed = await tx
    .updateTable('vault_connections')
    .set({
      status: 'refresh_failed',
      status_detail: detail,
      checked_at: now,
      updated_at: now,
      refresh_lease_until: null,
    })
    .where('id', '=', id)
    .where('status', '!=', 'refresh_failed')
    .returning('id')
    .executeTakeFirst();
  return changed !== undefined;
}

/** OAuth connections of the organization whose token expires before `before` and that may still refresh. */
export function dueConnections(tx: Tx, orgId: string, before: Date) {
  return tx
    .selectFrom('vault_connections')
    .select('id')
    .where('org_id', '=', orgId)
    .where('kind', '=', 'oauth')
    .where('status', '!=', 'refresh_failed')
    .where('token_expires_at', '<', before)
    .execute();
}

export function deleteConnection(tx: Tx, orgId: string, id: string) {
  return tx
    .deleteFrom('vault_connections')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('kind', '=', 'oauth')
    .returning(['id', 'label', 'provider_id'])
    .executeTakeFirst();
}

import type { Insertable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { ApiKeysTable, InvitationsTable } from '../platform/db/tables.js';
import type { Role } from './permissions.js';

// The queries the organization service runs against the tables it owns, one small function each,
// the transaction first. The rules (who may, what is refused, audit, session rotation) stay in the
// service; the order of the calls inside each transaction is the service's (it matters for locks).

// ── organizations ──

export const insertOrganization = (tx: Tx, row: { id: string; name: string; created_at: Date; created_by: string }) =>
  tx.insertInto('organizations').values(row).execute();

export const organizationById = (tx: Tx, orgId: string) =>
  tx.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirstOrThrow();

/** The organization's id if it exists (visible in this tenant), else undefined. */
export const organizationIdIfExists = (tx: Tx, orgId: string) =>
  tx.selectFrom('organizations').select('id').where('id', '=', orgId).executeTakeFirst();

export const organizationName = (tx: Tx, orgId: string) =>
  tx.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();

/** The name, its row locked for the rest of the transaction; undefined once deleted. */
export const lockOrganization = (tx: Tx, orgId: string) =>
  tx.selectFrom('organizations').select('name').where('id', '=', orgId).forUpdate().executeTakeFirst();

export const organizationMfaPolicy = (tx: Tx, orgId: string) =>
  tx.selectFrom('organizations').select('require_mfa').where('id', '=', orgId).executeTakeFirstOrThrow();

export const setOrganizationMfaPolicy = (tx: Tx, orgId: string, required: boolean) =>
  tx.updateTable('organizations').set({ require_mfa: required }).where('id', '=', orgId).execute();

export const renameOrganization = (tx: Tx, orgId: string, name: string) =>
  tx.updateTable('organizations').set({ name }).where('id', '=', orgId).execute();

/** The rows that point at it go with it (the schema's cascade). */
export const deleteOrganization = (tx: Tx, orgId: string) =>
  tx.deleteFrom('organizations').where('id', '=', orgId).execute();

// ── memberships ──

/** A member's role with the organization's second-factor policy; undefined for a non-member. */
export const membershipOf = (tx: Tx, orgId: string, userId: string) =>
  tx
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select(['memberships.role', 'organizations.require_mfa'])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();

/** A member's role alone; undefined for a non-member. */
export const memberRoleOf = (tx: Tx, orgId: string, userId: string) =>
  tx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();

/** A person's organizations with their role in each (read in the person's own scope), by name. */
export const organizationsOf = (tx: Tx, userId: string) =>
  tx
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select([
      'organizations.id',
      'organizations.name',
      'organizations.created_at',
      'organizations.require_mfa',
      'memberships.role',
    ])
    .where('memberships.user_id', '=', userId)
    .orderBy('organizations.name')
    .execute();

/**
 * Serializes changes to an organization's memberships until the transaction ends. Without it, two
 * owners demoting or removing each other at once would each count two owners and leave none.
 */
export const lockMemberships = async (tx: Tx, orgId: string): Promise<void> => {
  await tx.selectFrom('organizations').select('id').where('id', '=', orgId).forUpdate().execute();
};

export const countOwners = async (tx: Tx, orgId: string): Promise<number> => {
  const r = await tx
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(r.n);
};

export const membersWithEmail = (tx: Tx, orgId: string) =>
  tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'memberships.user_id',
      'users.email',
      'memberships.role',
      'memberships.invited_by',
      'memberships.created_at',
    ])
    .where('memberships.org_id', '=', orgId)
    .orderBy('users.email')
    .execute();

/** Every member's id, their membership rows locked for the rest of the transaction. */
export const lockMembers = (tx: Tx, orgId: string) =>
  tx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).forUpdate().execute();

/** The member with this address, if any. */
export const memberByEmail = (tx: Tx, orgId: string, email: string) =>
  tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.id')
    .where('memberships.org_id', '=', orgId)
    .where('users.email', '=', email)
    .executeTakeFirst();

export const insertOwnerMembership = (tx: Tx, orgId: string, userId: string, now: Date) =>
  tx.insertInto('memberships').values({ org_id: orgId, user_id: userId, role: 'owner', created_at: now }).execute();

/** Joining twice (a second accept that raced the first) leaves the first membership as it is. */
export const insertMembershipIfAbsent = (
  tx: Tx,
  row: { org_id: string; user_id: string; role: Role; invited_by: string; created_at: Date },
) =>
  tx
    .insertInto('memberships')
    .values(row)
    .onConflict((oc) => oc.columns(['org_id', 'user_id']).doNothing())
    .execute();

export const setMemberRole = (tx: Tx, orgId: string, userId: string, role: Role) =>
  tx.updateTable('memberships').set({ role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute();

export const deleteMembership = (tx: Tx, orgId: string, userId: string) =>
  tx.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();

// ── invitations ──

/** Revokes the address's pending invitation (if any). */
export const revokePendingInvitationsFor = (tx: Tx, email: string, now: Date) =>
  tx
    .updateTable('invitations')
    .set({ revoked_at: now })
    .where('email', '=', email)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .execute();

export const insertInvitation = (tx: Tx, row: Insertable<InvitationsTable>) =>
  tx.insertInto('invitations').values(row).returning('id').executeTakeFirstOrThrow();

/** Pending and not expired at `now`, newest first. */
export const pendingInvitations = (tx: Tx, orgId: string, now: Date) =>
  tx
    .selectFrom('invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();

/** Revokes one pending invitation; its address, or undefined when there was none to revoke. */
export const revokePendingInvitation = (tx: Tx, orgId: string, invitationId: string, now: Date) =>
  tx
    .updateTable('invitations')
    .set({ revoked_at: now })
    .where('id', '=', invitationId)
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning('email')
    .executeTakeFirst();

/** A pending (not accepted, not revoked) invitation; it may have expired. */
export const pendingInvitation = (tx: Tx, orgId: string, invitationId: string) =>
  tx
    .selectFrom('invitations')
    .selectAll()
    .where('id', '=', invitationId)
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();

/** The invitation with this token hash in any state, its row locked for the rest of the transaction. */
export const lockInvitationByTokenHash = (tx: Tx, orgId: string, tokenHash: string) =>
  tx
    .selectFrom('invitations')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('org_id', '=', orgId)
    .forUpdate()
    .executeTakeFirst();

export const markInvitationAccepted = (tx: Tx, invitationId: string, userId: string, now: Date) =>
  tx.updateTable('invitations').set({ accepted_at: now, accepted_by: userId }).where('id', '=', invitationId).execute();

// ── api keys ──

/** Revokes the live keys a member created; their ids and names. */
export const revokeKeysCreatedBy = (tx: Tx, orgId: string, userId: string, now: Date) =>
  tx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('org_id', '=', orgId)
    .where('created_by', '=', userId)
    .where('revoked_at', 'is', null)
    .returning(['id', 'name'])
    .execute();

/** Which organization a key belongs to (the directory is read outside any tenant). */
export const keyDirectoryEntry = (tx: Tx, keyId: string) =>
  tx.selectFrom('api_key_directory').select('org_id').where('key_id', '=', keyId).executeTakeFirst();

export const insertKeyDirectoryEntry = (tx: Tx, keyId: string, orgId: string) =>
  tx.insertInto('api_key_directory').values({ key_id: keyId, org_id: orgId }).execute();

/** The key's row unless it was revoked (expiry is the caller's check). */
export const liveApiKey = (tx: Tx, keyId: string) =>
  tx.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst();

export const insertApiKey = (tx: Tx, row: Insertable<ApiKeysTable>) => tx.insertInto('api_keys').values(row).execute();

/** The organization's keys that are not revoked, newest first. */
export const liveApiKeys = (tx: Tx, orgId: string) =>
  tx
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .execute();

/** Revokes one live key; its name, or undefined when there was none to revoke. */
export const revokeApiKey = (tx: Tx, orgId: string, keyId: string, now: Date) =>
  tx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', keyId)
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null)
    .returning('name')
    .executeTakeFirst();

export const touchApiKey = (tx: Tx, keyId: string, now: Date, ip: string | null) =>
  tx.updateTable('api_keys').set({ last_used_at: now, last_used_ip: ip }).where('id', '=', keyId).execute();

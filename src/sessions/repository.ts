import type { Insertable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { SessionsTable } from '../platform/db/tables.js';
import type { Factor, Session } from './model.js';

/** The queries on the sessions table. Each takes the transaction first; the rules live in service.ts. */

/** The columns a Session is made of. */
export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  ip: string | null;
  user_agent: string | null;
  method: string;
  auth_level: number;
  authenticated_at: Date;
  active_org_id: string | null;
  second_factor_pending: boolean;
  rotate_due: boolean;
  factors: string[];
}

export function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
    method: row.method,
    authLevel: row.auth_level,
    authenticatedAt: row.authenticated_at,
    activeOrgId: row.active_org_id,
    secondFactorPending: row.second_factor_pending,
    rotateDue: row.rotate_due,
    factors: row.factors as Factor[],
  };
}

/** A new session row, returned whole. */
export function insertSession(tx: Tx, row: Insertable<SessionsTable>) {
  return tx.insertInto('sessions').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * The session (with its user) that a token hash stands for: its current identifier, or the one a
 * deferred rotation replaced while that is still in its grace period. Revoked sessions are not found.
 */
export function sessionByTokenHash(tx: Tx, tokenHash: string, now: Date) {
  return tx
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('sessions')
    .select(['users.email', 'users.email_verified_at'])
    .where((eb) =>
      eb.or([
        eb('sessions.token_hash', '=', tokenHash),
        eb.and([eb('sessions.previous_token_hash', '=', tokenHash), eb('sessions.previous_valid_until', '>', now)]),
      ]),
    )
    .where('sessions.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Records activity on an unrevoked session: last seen now, idle expiry moved. */
export async function touch(tx: Tx, tokenHash: string, now: Date, idleExpiresAt: Date): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ last_seen_at: now, idle_expires_at: idleExpiresAt })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The current token hash of an unrevoked session still waiting for its second factor. */
export function pendingSessionTokenHash(tx: Tx, sessionId: string) {
  return tx
    .selectFrom('sessions')
    .select(['token_hash', 'factors'])
    .where('id', '=', sessionId)
    .where('second_factor_pending', '=', true)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A pending session becomes a full (two-factor) one under a new identifier; returned whole. */
export function completeSecondFactor(
  tx: Tx,
  sessionId: string,
  values: { tokenHash: string; factors: string[]; now: Date; idleExpiresAt: Date; absoluteExpiresAt: Date },
) {
  return tx
    .updateTable('sessions')
    .set({
      token_hash: values.tokenHash,
      factors: values.factors,
      second_factor_pending: false,
      auth_level: 2,
      authenticated_at: values.now,
      last_seen_at: values.now,
      idle_expires_at: values.idleExpiresAt,
      absolute_expires_at: values.absoluteExpiresAt,
    })
    .where('id', '=', sessionId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Marks every unrevoked session of a member of the transaction's organization for rotation, through
 * rampart_mark_sessions_for_rotation (migration 0009). Returns how many were marked.
 */
export async function markForRotation(tx: Tx, userId: string): Promise<number> {
  const row = await tx
    .selectNoFrom((eb) => eb.fn<number>('rampart_mark_sessions_for_rotation', [eb.val(userId)]).as('marked'))
    .executeTakeFirstOrThrow();
  return row.marked;
}

/**
 * The deferred rotation: only if the session is still due and still has the presented identifier.
 * The old identifier stays valid until graceUntil. Undefined when nothing was rotated.
 */
export function rotateIfDueRow(tx: Tx, sessionId: string, oldHash: string, newHash: string, graceUntil: Date) {
  return tx
    .updateTable('sessions')
    .set((eb) => ({
      token_hash: newHash,
      previous_token_hash: eb.ref('token_hash'),
      previous_valid_until: graceUntil,
      rotate_due: false,
    }))
    .where('id', '=', sessionId)
    .where('token_hash', '=', oldHash)
    .where('rotate_due', '=', true)
    .returning(['id', 'user_id'])
    .executeTakeFirst();
}

/** A session's current token hash and user. */
export function sessionTokenAndUser(tx: Tx, sessionId: string) {
  return tx
    .selectFrom('sessions')
    .select(['token_hash', 'user_id', 'factors'])
    .where('id', '=', sessionId)
    .executeTakeFirstOrThrow();
}

/** A new identifier for a session, with a new authentication level (and time) when one is given. */
export async function replaceTokenHash(
  tx: Tx,
  sessionId: string,
  tokenHash: string,
  auth?: { authLevel: number; now: Date; factors: string[] },
): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({
      token_hash: tokenHash,
      ...(auth ? { auth_level: auth.authLevel, authenticated_at: auth.now, factors: auth.factors } : {}),
    })
    .where('id', '=', sessionId)
    .execute();
}

/** Revokes a user's unrevoked sessions (one, or all but one). Returns the ones it revoked. */
export async function revokeSessions(
  tx: Tx,
  where: { userId: string; sessionId?: string; exceptSessionId?: string },
  reason: string,
  now: Date,
): Promise<Array<{ id: string; token_hash: string }>> {
  let q = tx
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', where.userId)
    .where('revoked_at', 'is', null);
  if (where.sessionId) q = q.where('id', '=', where.sessionId);
  if (where.exceptSessionId) q = q.where('id', '<>', where.exceptSessionId);
  return q.returning(['id', 'token_hash']).execute();
}

/** An unrevoked session by its id, with its user. */
export function sessionById(tx: Tx, sessionId: string) {
  return tx
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('sessions')
    .select(['users.email', 'users.email_verified_at'])
    .where('sessions.id', '=', sessionId)
    .where('sessions.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A session's token hash, user and active organization, locked for the rest of the transaction. */
export function lockSessionOrg(tx: Tx, sessionId: string) {
  return tx
    .selectFrom('sessions')
    .select(['token_hash', 'user_id', 'active_org_id'])
    .where('id', '=', sessionId)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function setActiveOrg(tx: Tx, sessionId: string, orgId: string | null): Promise<void> {
  await tx.updateTable('sessions').set({ active_org_id: orgId }).where('id', '=', sessionId).execute();
}

/** A user's live sessions (unrevoked, neither expiry passed), most recently seen first. */
export async function liveSessionsOf(tx: Tx, userId: string, now: Date): Promise<Session[]> {
  const rows = await tx
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map(toSession);
}

/** The user of some session (revoked or not), if there is any: the first row found, no sort, so it stays cheap. */
export async function anySessionUser(tx: Tx): Promise<string | undefined> {
  const row = await tx.selectFrom('sessions').select('user_id').limit(1).executeTakeFirst();
  return row?.user_id;
}

import type { Clock } from '../platform/clock.js';
import { hashToken, looksLikeToken, randomToken, type RandomSource } from '../platform/crypto/tokens.js';
import type { AfterCommit, Tenancy, Tx } from '../platform/db/database.js';
import type { EventBus } from '../platform/events/bus.js';
import { entryMessage, groupMessage, InvalidatedCache } from '../platform/events/invalidated-cache.js';
import type { RequestContext } from '../platform/request-context.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import { sessionError } from './errors.js';

export const SESSION_EVENTS = 'session_invalidated';

export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
  /** last_seen is written at most this often, so a busy session does not write on every request. */
  touchEveryMs: number;
}

export const DAY = 24 * 60 * 60 * 1000;
export const defaultSessionPolicy = (absoluteDays = 90): SessionPolicy => ({
  idleMs: 30 * DAY,
  absoluteMs: absoluteDays * DAY,
  touchEveryMs: 5 * 60 * 1000,
});

/** 1: one factor (password, e-mailed link). 2: two factors. */
export type AuthLevel = 1 | 2;
export type SignInMethod = 'password' | 'magic_link' | 'password_reset' | 'passkey';
export type SecondFactor = 'totp' | 'recovery_code' | 'passkey';
/** Why a session got a new identifier in a write() (S2): a fresh step-up, or a second factor just added. */
export type RotationReason = 'step_up' | 'second_factor_added';

/** How long a session that passed the first factor may take to present the second. */
export const SECOND_FACTOR_WINDOW_MS = 10 * 60 * 1000;
/** How long an identifier replaced by a deferred rotation still works (requests already in flight). */
export const ROTATION_GRACE_MS = 10 * 1000;

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  method: string;
  authLevel: number;
  authenticatedAt: Date;
  /** The organization this session works in (the switcher); membership is still checked on every request. */
  activeOrgId: string | null;
  /** Passed the first factor of an account with a second factor: reaches only the second-factor step. */
  secondFactorPending: boolean;
  /** A privilege change happened elsewhere (role change): the identifier rotates on the next request. */
  rotateDue: boolean;
}

export interface SessionUser {
  id: string;
  email: string;
  emailVerified: boolean;
}

export interface Authenticated {
  session: Session;
  user: SessionUser;
}

interface Cached extends Authenticated {
  /** Set when the presented value is an identifier replaced by a deferred rotation: valid until then. */
  graceUntil?: Date;
}

export interface SessionDeps {
  db: Tenancy;
  bus: EventBus;
  clock: Clock;
  policy: SessionPolicy;
  random?: RandomSource;
  onError?: (err: unknown) => void;
}

export type SessionService = ReturnType<typeof createSessionService>;

/** Whether an account has a second factor: the feature that owns second factors answers it. */
export type SecondFactorCheck = (tx: Tx, userId: string) => Promise<boolean>;

/** What a write() transaction can do with sessions. */
export interface SessionOps {
  create(
    userId: string,
    opts: { method: SignInMethod; authLevel: AuthLevel; context: RequestContext },
  ): Promise<{ token: string; session: Session }>;
  /** S2: a new identifier for the same session (recorded as user.session_rotated). */
  rotate(
    sessionId: string,
    opts: { reason: RotationReason; authLevel?: AuthLevel; context: RequestContext },
  ): Promise<string>;
  /** The second factor of a pending sign-in was presented: the session becomes a full one under a new identifier (S2). */
  completeSignIn(
    sessionId: string,
    factor: SecondFactor,
    context: RequestContext,
  ): Promise<{ token: string; session: Session }>;
  revoke(where: { userId: string; sessionId?: string; exceptSessionId?: string }, reason: string): Promise<number>;
  /** The user's cached state changed (e-mail verified): every instance reloads it. */
  forgetUser(userId: string): void;
  /** The organization switcher (recorded as user.org_switched). */
  setActiveOrg(sessionId: string, orgId: string | null): Promise<void>;
}

/** Sends an invalidation to every instance once the surrounding transaction has committed. */
type Invalidate = (message: string) => void;

export function createSessionService(deps: SessionDeps) {
  const { db, bus, clock, policy } = deps;
  let hasSecondFactor: SecondFactorCheck = async () => {
    // Fail closed: without the owner of second factors, no session may start as a full one.
    throw new Error('sessions: no second-factor check was registered');
  };
  const cache = new InvalidatedCache<Cached>({
    bus,
    channel: SESSION_EVENTS,
    groupOf: (v) => v.session.userId,
    onError: deps.onError,
  });

  function toSession(row: {
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
  }): Session {
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
    };
  }

  const live = (s: Session, now: Date) => now < s.idleExpiresAt && now < s.absoluteExpiresAt;

  /**
   * Starts a session in the caller's transaction (with its audit event). Returns the cookie value,
   * which is never stored. One factor on an account with a second factor starts a pending session:
   * no sign-in path can skip the second factor by forgetting to ask for it.
   */
  async function create(
    tx: Tx,
    userId: string,
    opts: { method: SignInMethod; authLevel: AuthLevel; context: RequestContext },
  ): Promise<{ token: string; session: Session }> {
    const token = randomToken(deps.random);
    const now = clock.now();
    const pending = opts.authLevel < 2 && (await hasSecondFactor(tx, userId));
    const absolute = now.getTime() + (pending ? SECOND_FACTOR_WINDOW_MS : policy.absoluteMs);
    const row = await tx
      .insertInto('sessions')
      .values({
        token_hash: hashToken(token),
        user_id: userId,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: new Date(Math.min(now.getTime() + policy.idleMs, absolute)),
        absolute_expires_at: new Date(absolute),
        ip: opts.context.ip ?? null,
        user_agent: opts.context.userAgent ?? null,
        method: opts.method,
        auth_level: opts.authLevel,
        authenticated_at: now,
        second_factor_pending: pending,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const action = pending ? 'user.first_factor_passed' : 'user.signed_in';
    await appendAudit(
      tx,
      {
        stream: userStream(userId),
        action,
        actor: `user:${userId}`,
        target: `session:${row.id}`,
        context: opts.context,
        payload: { method: opts.method },
      },
      clock,
    );
    return { token, session: toSession(row) };
  }

  async function completeSignIn(
    tx: Tx,
    invalidate: Invalidate,
    sessionId: string,
    factor: SecondFactor,
    context: RequestContext,
  ): Promise<{ token: string; session: Session }> {
    const token = randomToken(deps.random);
    const now = clock.now();
    const old = await tx
      .selectFrom('sessions')
      .select('token_hash')
      .where('id', '=', sessionId)
      .where('second_factor_pending', '=', true)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!old)
      throw sessionError('unauthenticated', {
        message: 'This sign-in expired or was already finished. Sign in again.',
      });
    const row = await tx
      .updateTable('sessions')
      .set({
        token_hash: hashToken(token),
        second_factor_pending: false,
        auth_level: 2,
        authenticated_at: now,
        last_seen_at: now,
        idle_expires_at: new Date(now.getTime() + Math.min(policy.idleMs, policy.absoluteMs)),
        absolute_expires_at: new Date(now.getTime() + policy.absoluteMs),
      })
      .where('id', '=', sessionId)
      .returningAll()
      .executeTakeFirstOrThrow();
    invalidate(entryMessage(old.token_hash));
    await appendAudit(
      tx,
      {
        stream: userStream(row.user_id),
        action: 'user.signed_in',
        actor: `user:${row.user_id}`,
        target: `session:${row.id}`,
        context,
        payload: { method: row.method, secondFactor: factor },
      },
      clock,
    );
    return { token, session: toSession(row) };
  }

  async function load(tokenHash: string): Promise<Cached | undefined> {
    const row = await db.withSystem((tx) =>
      tx
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .selectAll('sessions')
        .select(['users.email', 'users.email_verified_at'])
        .where((eb) =>
          eb.or([
            eb('sessions.token_hash', '=', tokenHash),
            eb.and([
              eb('sessions.previous_token_hash', '=', tokenHash),
              eb('sessions.previous_valid_until', '>', clock.now()),
            ]),
          ]),
        )
        .where('sessions.revoked_at', 'is', null)
        .executeTakeFirst(),
    );
    if (!row) return undefined;
    const session = toSession(row);
    const graceUntil = row.token_hash === tokenHash ? undefined : (row.previous_valid_until ?? undefined);
    return {
      session,
      graceUntil,
      user: { id: session.userId, email: row.email, emailVerified: row.email_verified_at !== null },
    };
  }

  /** The session a cookie value stands for, if it is live; refreshes its idle expiry now and then. */
  async function authenticate(token: string): Promise<Authenticated | undefined> {
    if (!looksLikeToken(token)) return undefined;
    const tokenHash = hashToken(token);
    let entry = await cache.getOrLoad(tokenHash, () => load(tokenHash));
    if (!entry) return undefined;
    const now = clock.now();
    if (!live(entry.session, now) || (entry.graceUntil && now >= entry.graceUntil)) {
      cache.drop(tokenHash);
      return undefined;
    }
    if (now.getTime() - entry.session.lastSeenAt.getTime() >= policy.touchEveryMs) {
      const idleExpiresAt = new Date(
        Math.min(now.getTime() + policy.idleMs, entry.session.absoluteExpiresAt.getTime()),
      );
      await db.withSystem((tx) =>
        tx
          .updateTable('sessions')
          .set({ last_seen_at: now, idle_expires_at: idleExpiresAt })
          .where('token_hash', '=', tokenHash)
          .where('revoked_at', 'is', null)
          .execute(),
      );
      entry = { ...entry, session: { ...entry.session, lastSeenAt: now, idleExpiresAt } };
      cache.update(tokenHash, entry);
    }
    // A replaced identifier in its grace period is never rotated again: only the current one is.
    return { session: entry.graceUntil ? { ...entry.session, rotateDue: false } : entry.session, user: entry.user };
  }

  /**
   * S2 for changes made by someone else (O3: a role change, a removal, a handover): every unrevoked
   * session of these members gets a new identifier on its next request (see rotateIfDue). Runs in
   * the caller's tenant transaction, so the mark commits with the change or not at all: through
   * rampart_mark_sessions_for_rotation (migration 0009), which refuses anyone who is not a member
   * of that transaction's organization. After the commit, every instance reloads their sessions.
   * Returns how many sessions were marked.
   */
  async function rotateLater(tx: Tx, afterCommit: AfterCommit, userIds: string[]): Promise<number> {
    // One order for every caller (by id), so two transactions marking the same people cannot deadlock.
    const members = [...new Set(userIds)].sort();
    let marked = 0;
    for (const member of members) {
      const row = await tx
        .selectNoFrom((eb) => eb.fn<number>('rampart_mark_sessions_for_rotation', [eb.val(member)]).as('marked'))
        .executeTakeFirstOrThrow();
      marked += row.marked;
      afterCommit(() => cache.broadcast(groupMessage(member)));
    }
    return marked;
  }

  /** The deferred rotation, done by the request that presents the current identifier. Undefined: nothing was due (or another request did it). */
  async function rotateIfDue(sessionId: string, presented: string): Promise<string | undefined> {
    const token = randomToken(deps.random);
    const now = clock.now();
    const oldHash = hashToken(presented);
    const rotated = await db.withSystem(async (tx, afterCommit) => {
      const row = await tx
        .updateTable('sessions')
        .set((eb) => ({
          token_hash: hashToken(token),
          previous_token_hash: eb.ref('token_hash'),
          previous_valid_until: new Date(now.getTime() + ROTATION_GRACE_MS),
          rotate_due: false,
        }))
        .where('id', '=', sessionId)
        .where('token_hash', '=', oldHash)
        .where('rotate_due', '=', true)
        .returning(['id', 'user_id'])
        .executeTakeFirst();
      if (!row) return false;
      await appendAudit(
        tx,
        {
          stream: userStream(row.user_id),
          action: 'user.session_rotated',
          actor: `user:${row.user_id}`,
          target: `session:${row.id}`,
          payload: { reason: 'privilege_change' },
        },
        clock,
      );
      afterCommit(() => cache.broadcast(entryMessage(oldHash)));
      return true;
    });
    return rotated ? token : undefined;
  }

  /**
   * S2: a new identifier for the same session (step-up, a second factor added), with its audit
   * event. The old cookie value stops working on every instance once the surrounding write() returns.
   */
  async function rotate(
    tx: Tx,
    invalidate: Invalidate,
    sessionId: string,
    opts: { reason: RotationReason; authLevel?: AuthLevel; context: RequestContext },
  ): Promise<string> {
    const token = randomToken(deps.random);
    const now = clock.now();
    const old = await tx
      .selectFrom('sessions')
      .select(['token_hash', 'user_id'])
      .where('id', '=', sessionId)
      .executeTakeFirstOrThrow();
    await tx
      .updateTable('sessions')
      .set({
        token_hash: hashToken(token),
        ...(opts.authLevel ? { auth_level: opts.authLevel, authenticated_at: now } : {}),
      })
      .where('id', '=', sessionId)
      .execute();
    await appendAudit(
      tx,
      {
        stream: userStream(old.user_id),
        action: 'user.session_rotated',
        actor: `user:${old.user_id}`,
        target: `session:${sessionId}`,
        context: opts.context,
        payload: { reason: opts.reason, ...(opts.authLevel ? { authLevel: opts.authLevel } : {}) },
      },
      clock,
    );
    invalidate(entryMessage(old.token_hash));
    return token;
  }

  async function revoke(
    tx: Tx,
    invalidate: Invalidate,
    where: { userId: string; sessionId?: string; exceptSessionId?: string },
    reason: string,
  ): Promise<number> {
    let q = tx
      .updateTable('sessions')
      .set({ revoked_at: clock.now(), revoked_reason: reason })
      .where('user_id', '=', where.userId)
      .where('revoked_at', 'is', null);
    if (where.sessionId) q = q.where('id', '=', where.sessionId);
    if (where.exceptSessionId) q = q.where('id', '<>', where.exceptSessionId);
    const rows = await q.returning('token_hash').execute();
    for (const r of rows) invalidate(entryMessage(r.token_hash));
    return rows.length;
  }

  /**
   * One transaction of session changes. Invalidations go out after the commit (the transaction's
   * after-commit hook), and write() returns only when they have: publishing earlier would let
   * another instance reload the old row. A rollback sends none.
   */
  async function write<T>(fn: (tx: Tx, ops: SessionOps) => Promise<T>): Promise<T> {
    return db.withSystem((tx, afterCommit) => {
      const invalidate: Invalidate = (message) => afterCommit(() => cache.broadcast(message));
      return fn(tx, {
        create: (userId, opts) => create(tx, userId, opts),
        rotate: (sessionId, opts) => rotate(tx, invalidate, sessionId, opts),
        completeSignIn: (sessionId, factor, context) => completeSignIn(tx, invalidate, sessionId, factor, context),
        revoke: (where, reason) => revoke(tx, invalidate, where, reason),
        forgetUser: (userId) => invalidate(groupMessage(userId)),
        setActiveOrg: async (sessionId, orgId) => {
          const row = await tx
            .selectFrom('sessions')
            .select(['token_hash', 'user_id', 'active_org_id'])
            .where('id', '=', sessionId)
            .forUpdate()
            .executeTakeFirstOrThrow();
          if (row.active_org_id === orgId) return;
          await tx.updateTable('sessions').set({ active_org_id: orgId }).where('id', '=', sessionId).execute();
          await appendAudit(
            tx,
            {
              stream: userStream(row.user_id),
              action: 'user.org_switched',
              actor: `user:${row.user_id}`,
              target: `session:${sessionId}`,
              payload: { org: orgId },
            },
            clock,
          );
          invalidate(entryMessage(row.token_hash));
        },
      });
    });
  }

  async function list(userId: string): Promise<Session[]> {
    const now = clock.now();
    const rows = await db.withSystem((tx) =>
      tx
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('idle_expires_at', '>', now)
        .where('absolute_expires_at', '>', now)
        .orderBy('last_seen_at', 'desc')
        .execute(),
    );
    return rows.map(toSession);
  }

  return {
    /** Registered once at start-up by the feature that owns second factors (it sits above sessions). */
    useSecondFactorCheck(check: SecondFactorCheck): void {
      hasSecondFactor = check;
    },
    authenticate,
    rotateLater,
    rotateIfDue,
    write,
    list,
    cacheSize: () => cache.size,
    close: () => cache.close(),
  };
}

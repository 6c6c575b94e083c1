import type { Clock } from '../platform/clock.js';
import { hashToken, looksLikeToken, randomToken, type RandomSource } from '../platform/crypto/tokens.js';
import type { AfterCommit, Tenancy, Tx } from '../platform/db/database.js';
import type { EventBus } from '../platform/events/bus.js';
import { entryMessage, groupMessage, InvalidatedCache } from '../platform/events/invalidated-cache.js';
import type { RequestContext } from '../platform/request-context.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import { sessionError } from './errors.js';
import {
  type Authenticated,
  type AuthLevel,
  type Factor,
  ROTATION_GRACE_MS,
  type RotationReason,
  SECOND_FACTOR_WINDOW_MS,
  type SecondFactor,
  type Session,
  type SessionPolicy,
  type SignInMethod,
} from './model.js';
import * as repo from './repository.js';

export {
  type Authenticated,
  type AuthLevel,
  DAY,
  defaultSessionPolicy,
  type Factor,
  ROTATION_GRACE_MS,
  type RotationReason,
  SECOND_FACTOR_WINDOW_MS,
  type SecondFactor,
  type Session,
  type SessionPolicy,
  type SessionUser,
  type SignInMethod,
} from './model.js';

export const SESSION_EVENTS = 'session_invalidated';

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

/** Whether an account has a second factor: the feature that owns second factors answers it. */
export type SecondFactorCheck = (tx: Tx, userId: string) => Promise<boolean>;

/** What a write() transaction can do with sessions. */
export interface SessionOps {
  create(
    userId: string,
    opts: { method: SignInMethod; authLevel: AuthLevel; factor?: Factor; context: RequestContext },
  ): Promise<{ token: string; session: Session }>;
  /** S2: a new identifier for the same session (recorded as user.session_rotated); a step-up names its factor. */
  rotate(
    sessionId: string,
    opts: { reason: RotationReason; authLevel?: AuthLevel; factor?: Factor; context: RequestContext },
  ): Promise<string>;
  /**
   * The second factor of a pending sign-in was presented: the session becomes a full one under a new identifier (S2).
   */
  completeSignIn(
    sessionId: string,
    factor: SecondFactor | 'synced_passkey',
    context: RequestContext,
  ): Promise<{ token: string; session: Session }>;
  revoke(where: { userId: string; sessionId?: string; exceptSessionId?: string }, reason: string): Promise<number>;
  /** The user's cached state changed (e-mail verified): every instance reloads it. */
  forgetUser(userId: string): void;
  /** The organization switcher (recorded as user.org_switched). */
  setActiveOrg(sessionId: string, orgId: string | null): Promise<void>;
  /** The live session a cookie value stands for, read in this transaction (no cache): for live checks. */
  resolve(token: string): Promise<Session | undefined>;
  /** A user's live sessions read in this transaction, most recently seen first. */
  list(userId: string): Promise<Session[]>;
  /** A user who has had a session, if anyone ever signed in: for live checks. */
  someUser(): Promise<string | undefined>;
}

/** S1-S4: server sessions, their cache on every instance, rotation and revocation. */
export interface SessionService {
  /** Registered once at start-up by the feature that owns second factors (it sits above sessions). */
  useSecondFactorCheck(check: SecondFactorCheck): void;
  /** The session a cookie value stands for, if it is live; refreshes its idle expiry now and then. */
  authenticate(token: string): Promise<Authenticated | undefined>;
  /** S2 for changes made by someone else: marks these members' sessions to rotate on their next request. */
  rotateLater(tx: Tx, afterCommit: AfterCommit, userIds: string[]): Promise<number>;
  /**
   * The deferred rotation, done by the request presenting the current identifier: its new cookie value, if one was
   * due.
   */
  rotateIfDue(sessionId: string, presented: string): Promise<string | undefined>;
  /** One transaction of session changes; its invalidations are published after the commit. */
  write<T>(fn: (tx: Tx, ops: SessionOps) => Promise<T>): Promise<T>;
  /** Live checks: a write() that is always rolled back, so nothing it did lasts or reaches another instance. */
  rehearse<T>(fn: (tx: Tx, ops: SessionOps) => Promise<T>): Promise<T>;
  /** A user's live sessions, most recently seen first. */
  list(userId: string): Promise<Session[]>;
  /**
   * S2: a sign-in in a browser that still held a session ends that one (recorded as user.session_replaced),
   * so the identifier the browser held before opens nothing, whoever signed in now.
   */
  endReplaced(previous: Session, by: Session, context: RequestContext): Promise<void>;
  /** A live session by its id, read now (for tokens a session gave a product: they die with it). */
  byId(sessionId: string): Promise<Authenticated | undefined>;
  /**
   * Registered at start-up by features that gave something out on a session's behalf (a product's
   * tokens): called once the revocation of sessions has committed, with the ones that ended.
   */
  onEnded(listener: EndedListener): void;
  /** How many sessions this instance holds in its cache. */
  cacheSize(): number;
  /** Stops listening for invalidations. */
  close(): Promise<void>;
}

/** Sends an invalidation to every instance once the surrounding transaction has committed. */
type Invalidate = (message: string) => void;

export interface EndedSession {
  sessionId: string;
  userId: string;
  reason: string;
}
export type EndedListener = (ended: EndedSession[]) => Promise<void> | void;

/** What every operation below works with: the deps, this instance's cache, the registered check. */
interface Runtime {
  deps: SessionDeps;
  cache: InvalidatedCache<Cached>;
  hasSecondFactor: SecondFactorCheck;
  endedListeners: EndedListener[];
}

export function createSessionService(deps: SessionDeps): SessionService {
  const rt: Runtime = {
    deps,
    cache: new InvalidatedCache<Cached>({
      bus: deps.bus,
      channel: SESSION_EVENTS,
      groupOf: (v) => v.session.userId,
      onError: deps.onError,
    }),
    hasSecondFactor: async () => {
      // Fail closed: without the owner of second factors, no session may start as a full one.
      throw new Error('sessions: no second-factor check was registered');
    },
    endedListeners: [],
  };
  return {
    useSecondFactorCheck(check) {
      rt.hasSecondFactor = check;
    },
    authenticate: (token) => authenticate(rt, token),
    rotateLater: (tx, afterCommit, userIds) => rotateLater(rt, tx, afterCommit, userIds),
    rotateIfDue: (sessionId, presented) => rotateIfDue(rt, sessionId, presented),
    write: (fn) => write(rt, fn),
    rehearse: (fn) => rehearse(rt, fn),
    endReplaced: (previous, by, context) =>
      write(rt, async (tx, ops) => {
        if ((await ops.revoke({ userId: previous.userId, sessionId: previous.id }, 'replaced')) === 0) return;
        const event = { stream: userStream(previous.userId), action: 'user.session_replaced' as const };
        const payload = { by: `session:${by.id}`, sameUser: by.userId === previous.userId };
        await appendAudit(
          tx,
          { ...event, actor: `user:${by.userId}`, target: `session:${previous.id}`, context, payload },
          rt.deps.clock,
        );
      }),
    list: (userId) => list(rt, userId),
    byId: (sessionId) => byId(rt, sessionId),
    onEnded(listener) {
      rt.endedListeners.push(listener);
    },
    cacheSize: () => rt.cache.size,
    close: () => rt.cache.close(),
  };
}

const FIRST_FACTOR: Record<SignInMethod, Factor> = {
  password: 'password',
  magic_link: 'magic_link',
  password_reset: 'magic_link',
  passkey: 'passkey',
  external: 'external',
};
const withFactor = (factors: readonly string[], factor: Factor) =>
  factors.includes(factor) ? [...factors] : [...factors, factor];

const live = (s: Session, now: Date) => now < s.idleExpiresAt && now < s.absoluteExpiresAt;

/**
 * Starts a session in the caller's transaction (with its audit event). Returns the cookie value,
 * which is never stored. One factor on an account with a second factor starts a pending session:
 * no sign-in path can skip the second factor by forgetting to ask for it.
 */
async function create(
  rt: Runtime,
  tx: Tx,
  userId: string,
  opts: { method: SignInMethod; authLevel: AuthLevel; factor?: Factor; context: RequestContext },
): Promise<{ token: string; session: Session }> {
  const { clock, policy } = rt.deps;
  const token = randomToken(rt.deps.random);
  const now = clock.now();
  const hasSecondFactor = rt.hasSecondFactor;
  const pending = opts.authLevel < 2 && (await hasSecondFactor(tx, userId));
  const absolute = now.getTime() + (pending ? SECOND_FACTOR_WINDOW_MS : policy.absoluteMs);
  const row = await repo.insertSession(tx, {
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
    factors: [opts.factor ?? FIRST_FACTOR[opts.method]],
  });
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
  return { token, session: repo.toSession(row) };
}

async function completeSignIn(
  rt: Runtime,
  tx: Tx,
  invalidate: Invalidate,
  sessionId: string,
  factor: SecondFactor | 'synced_passkey',
  context: RequestContext,
): Promise<{ token: string; session: Session }> {
  const { clock, policy } = rt.deps;
  const token = randomToken(rt.deps.random);
  const now = clock.now();
  const old = await repo.pendingSessionTokenHash(tx, sessionId);
  if (!old)
    throw sessionError('unauthenticated', {
      message: 'This sign-in expired or was already finished. Sign in again.',
    });
  const row = await repo.completeSecondFactor(tx, sessionId, {
    tokenHash: hashToken(token),
    factors: withFactor(old.factors, factor),
    now,
    idleExpiresAt: new Date(now.getTime() + Math.min(policy.idleMs, policy.absoluteMs)),
    absoluteExpiresAt: new Date(now.getTime() + policy.absoluteMs),
  });
  invalidate(entryMessage(old.token_hash));
  await appendAudit(
    tx,
    {
      stream: userStream(row.user_id),
      action: 'user.signed_in',
      actor: `user:${row.user_id}`,
      target: `session:${row.id}`,
      context,
      payload: { method: row.method, secondFactor: factor === 'synced_passkey' ? 'passkey' : factor },
    },
    clock,
  );
  return { token, session: repo.toSession(row) };
}

async function load(rt: Runtime, tokenHash: string): Promise<Cached | undefined> {
  const row = await rt.deps.db.withSystem((tx) => repo.sessionByTokenHash(tx, tokenHash, rt.deps.clock.now()));
  if (!row) return undefined;
  const session = repo.toSession(row);
  const graceUntil = row.token_hash === tokenHash ? undefined : (row.previous_valid_until ?? undefined);
  return {
    session,
    graceUntil,
    user: { id: session.userId, email: row.email, emailVerified: row.email_verified_at !== null },
  };
}

/** The session a cookie value stands for, if it is live; refreshes its idle expiry now and then. */
async function authenticate(rt: Runtime, token: string): Promise<Authenticated | undefined> {
  const { db, clock, policy } = rt.deps;
  if (!looksLikeToken(token)) return undefined;
  const tokenHash = hashToken(token);
  let entry = await rt.cache.getOrLoad(tokenHash, () => load(rt, tokenHash));
  if (!entry) return undefined;
  const now = clock.now();
  if (!live(entry.session, now) || (entry.graceUntil && now >= entry.graceUntil)) {
    rt.cache.drop(tokenHash);
    return undefined;
  }
  // Touch throttling: last_seen is written at most every touchEveryMs, not on every request.
  if (now.getTime() - entry.session.lastSeenAt.getTime() >= policy.touchEveryMs) {
    const idleExpiresAt = new Date(Math.min(now.getTime() + policy.idleMs, entry.session.absoluteExpiresAt.getTime()));
    await db.withSystem((tx) => repo.touch(tx, tokenHash, now, idleExpiresAt));
    entry = { ...entry, session: { ...entry.session, lastSeenAt: now, idleExpiresAt } };
    rt.cache.update(tokenHash, entry);
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
async function rotateLater(rt: Runtime, tx: Tx, afterCommit: AfterCommit, userIds: string[]): Promise<number> {
  // One order for every caller (by id), so two transactions marking the same people cannot deadlock.
  const members = [...new Set(userIds)].sort();
  let marked = 0;
  for (const member of members) {
    marked += await repo.markForRotation(tx, member);
    afterCommit(() => rt.cache.broadcast(groupMessage(member)));
  }
  return marked;
}

/**
 * The deferred rotation, done by the request that presents the current identifier. Undefined: nothing was due (or
 * another request did it).
 */
async function rotateIfDue(rt: Runtime, sessionId: string, presented: string): Promise<string | undefined> {
  const { clock } = rt.deps;
  const token = randomToken(rt.deps.random);
  const now = clock.now();
  const oldHash = hashToken(presented);
  const rotated = await rt.deps.db.withSystem(async (tx, afterCommit) => {
    // The old identifier keeps working for ROTATION_GRACE_MS: requests already in flight carry it.
    const graceUntil = new Date(now.getTime() + ROTATION_GRACE_MS);
    const row = await repo.rotateIfDueRow(tx, sessionId, oldHash, hashToken(token), graceUntil);
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
    afterCommit(() => rt.cache.broadcast(entryMessage(oldHash)));
    return true;
  });
  return rotated ? token : undefined;
}

/**
 * S2: a new identifier for the same session (step-up, a second factor added), with its audit
 * event. The old cookie value stops working on every instance once the surrounding write() returns.
 */
async function rotate(
  rt: Runtime,
  tx: Tx,
  invalidate: Invalidate,
  sessionId: string,
  opts: { reason: RotationReason; authLevel?: AuthLevel; factor?: Factor; context: RequestContext },
): Promise<string> {
  const { clock } = rt.deps;
  const token = randomToken(rt.deps.random);
  const now = clock.now();
  const old = await repo.sessionTokenAndUser(tx, sessionId);
  await repo.replaceTokenHash(
    tx,
    sessionId,
    hashToken(token),
    opts.authLevel
      ? { authLevel: opts.authLevel, now, factors: opts.factor ? withFactor(old.factors, opts.factor) : old.factors }
      : undefined,
  );
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
  rt: Runtime,
  tx: Tx,
  invalidate: Invalidate,
  ended: EndedSession[],
  where: { userId: string; sessionId?: string; exceptSessionId?: string },
  reason: string,
): Promise<number> {
  const revoked = await repo.revokeSessions(tx, where, reason, rt.deps.clock.now());
  for (const r of revoked) invalidate(entryMessage(r.token_hash));
  ended.push(...revoked.map((r) => ({ sessionId: r.id, userId: where.userId, reason })));
  return revoked.length;
}

/** The organization switcher: the row is locked, so two switches of one session apply in turn. */
async function setActiveOrg(
  rt: Runtime,
  tx: Tx,
  invalidate: Invalidate,
  sessionId: string,
  orgId: string | null,
): Promise<void> {
  const row = await repo.lockSessionOrg(tx, sessionId);
  if (row.active_org_id === orgId) return;
  await repo.setActiveOrg(tx, sessionId, orgId);
  await appendAudit(
    tx,
    {
      stream: userStream(row.user_id),
      action: 'user.org_switched',
      actor: `user:${row.user_id}`,
      target: `session:${sessionId}`,
      payload: { org: orgId },
    },
    rt.deps.clock,
  );
  invalidate(entryMessage(row.token_hash));
}

/**
 * One transaction of session changes. Invalidations go out after the commit (the transaction's
 * after-commit hook), and write() returns only when they have: publishing earlier would let
 * another instance reload the old row. A rollback sends none.
 */
async function write<T>(rt: Runtime, fn: (tx: Tx, ops: SessionOps) => Promise<T>): Promise<T> {
  return rt.deps.db.withSystem((tx, afterCommit) => {
    const invalidate: Invalidate = (message) => afterCommit(() => rt.cache.broadcast(message));
    const ended: EndedSession[] = [];
    afterCommit(async () => {
      if (ended.length === 0) return;
      for (const listener of rt.endedListeners) {
        try {
          await listener(ended);
        } catch (err) {
          rt.deps.onError?.(err); // the revocation stands; a listener's failure is its own to retry
        }
      }
    });
    return fn(tx, {
      create: (userId, opts) => create(rt, tx, userId, opts),
      rotate: (sessionId, opts) => rotate(rt, tx, invalidate, sessionId, opts),
      completeSignIn: (sessionId, factor, context) => completeSignIn(rt, tx, invalidate, sessionId, factor, context),
      revoke: (where, reason) => revoke(rt, tx, invalidate, ended, where, reason),
      forgetUser: (userId) => invalidate(groupMessage(userId)),
      setActiveOrg: (sessionId, orgId) => setActiveOrg(rt, tx, invalidate, sessionId, orgId),
      resolve: (token) => resolveIn(rt, tx, token),
      list: (userId) => repo.liveSessionsOf(tx, userId, rt.deps.clock.now()),
      someUser: () => repo.anySessionUser(tx),
    });
  });
}

const ROLLBACK = Symbol('rehearsal rolled back');

async function rehearse<T>(rt: Runtime, fn: (tx: Tx, ops: SessionOps) => Promise<T>): Promise<T> {
  let result: T | undefined;
  try {
    await write(rt, async (tx, ops) => {
      result = await fn(tx, ops);
      throw ROLLBACK; // the only way out of the transaction: it never commits
    });
  } catch (err) {
    if (err === ROLLBACK) return result as T;
    throw err;
  }
  throw new Error('sessions: a rehearsal committed');
}

/** What authenticate() decides for a cookie value, read in the transaction without the cache. */
async function resolveIn(rt: Runtime, tx: Tx, token: string): Promise<Session | undefined> {
  if (!looksLikeToken(token)) return undefined;
  const now = rt.deps.clock.now();
  const row = await repo.sessionByTokenHash(tx, hashToken(token), now); // a replaced one only within its grace
  if (!row) return undefined;
  const session = repo.toSession(row);
  return live(session, now) ? session : undefined;
}

async function byId(rt: Runtime, sessionId: string): Promise<Authenticated | undefined> {
  const row = await rt.deps.db.withSystem((tx) => repo.sessionById(tx, sessionId));
  if (!row) return undefined;
  const session = repo.toSession(row);
  if (!live(session, rt.deps.clock.now()) || session.secondFactorPending) return undefined;
  return { session, user: { id: session.userId, email: row.email, emailVerified: row.email_verified_at !== null } };
}

async function list(rt: Runtime, userId: string): Promise<Session[]> {
  const now = rt.deps.clock.now();
  return rt.deps.db.withSystem((tx) => repo.liveSessionsOf(tx, userId, now));
}

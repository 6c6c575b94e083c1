import { NoResultError } from 'kysely';
import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { RandomSource } from '../platform/crypto/tokens.js';
import { TenancyError, type AfterCommit, type Tenancy, type Tx } from '../platform/db/database.js';
import type { EventBus } from '../platform/events/bus.js';
import { entryMessage, groupMessage, InvalidatedCache } from '../platform/events/invalidated-cache.js';
import { notFound } from '../platform/errors.js';
import type { Mailer } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { orgError } from './errors.js';
import { can, RANK, type Permission, type Role } from './permissions.js';
import * as repo from './repository.js';

/** PostgreSQL's SQLSTATE for a row that points at a row that is not there (any more). */
const FOREIGN_KEY_VIOLATION = '23503';

/** Who acts: a signed-in person, or an organization API key with exactly its scopes (O6). */
export type Actor =
  | { kind: 'user'; userId: string; email: string /** The session passed a second factor (A6). */; twoFactor: boolean }
  | { kind: 'key'; keyId: string; orgId: string; scopes: ReadonlySet<Permission>; createdBy: string };

/** How an actor appears in the audit log. */
export const actorRef = (a: Actor) => (a.kind === 'user' ? `user:${a.userId}` : `apikey:${a.keyId}`);
/** The person answerable for an action (a key answers through the person who created it). */
export const personOf = (a: Actor) => (a.kind === 'user' ? a.userId : a.createdBy);
/** Keys rank as members when roles are compared: they never hand out or touch more than that. */
const KEY_ROLE: Role = 'member';

export const forbidden = () => orgError('forbidden');
/** A6: the member is sent to set up (or present) a second factor; API keys never meet this. */
export const mfaRequired = () => orgError('mfa_required');
const creatorGone = () =>
  orgError('invalid_api_key', {
    message: 'This API key no longer works: the person who created it is not a member any more.',
  });
export const lastOwner = () => orgError('last_owner');

export interface OrgDeps {
  db: Tenancy;
  /**
   * S2, O3: marks the sessions of these members (of the transaction's organization) to rotate their
   * identifier on their next request, in the caller's transaction: the mark commits with the
   * privilege change or not at all. Every instance reloads their sessions after the commit.
   */
  rotateSessionsOf: (tx: Tx, afterCommit: AfterCommit, userIds: string[]) => Promise<number>;
  /** Every instance forgets these API keys (revoked here, outside the key service). */
  forgetApiKeys: (keyIds: string[]) => Promise<void>;
  /**
   * Carries membership invalidations between instances. Without it nothing is cached: every
   * permission check reads the membership.
   */
  bus?: EventBus;
  onCacheError?: (err: unknown) => void;
  clock: Clock;
  mailer: Mailer;
  baseUrl: string;
  random?: RandomSource;
  onMailError?: (err: unknown) => void;
}

/** The body of a permitted operation: its transaction, the caller's effective role, the after-commit hook. */
export type PermittedFn<T> = (tx: Tx, role: Role, afterCommit: AfterCommit) => Promise<T>;

/** What every operation of the service is built on: its deps, the permission gate and the org audit. */
export interface OrgCore {
  deps: OrgDeps;
  /**
   * One tenant transaction for an actor holding a permission in the organization. A key of another
   * organization, like a person who is not a member, gets 404.
   */
  as<T>(
    actor: Actor,
    orgId: string,
    permission: Permission,
    fn: PermittedFn<T>,
    opts?: { mfaExempt?: boolean },
  ): Promise<T>;
  /**
   * O3: a member's role changed or they left (userId), or the organization's second-factor policy
   * changed or it was deleted (no userId): once the transaction commits, and before it returns,
   * every instance forgets the memberships it keeps. Call it in the transaction that changes them.
   */
  membershipChanged(afterCommit: AfterCommit, orgId: string, userId?: string): void;
  /** Called on this instance after such a change has committed (features holding grants on a membership). */
  onMembershipChanged(listener: MembershipListener): void;
  close(): Promise<void>;
  /** Appends an event to the organization's audit stream, in the caller's transaction. */
  audit(
    tx: Tx,
    orgId: string,
    actor: Actor,
    action: AuditAction,
    context: RequestContext,
    target?: string,
    payload?: Record<string, unknown>,
  ): Promise<unknown>;
}

export type MembershipListener = (change: { orgId: string; userId?: string }) => Promise<void> | void;

/** Tells every instance to forget memberships it keeps (a role changed, a member left, an org's policy). */
export const MEMBERSHIP_EVENTS = 'membership_invalidated';

interface KeptMembership {
  orgId: string;
  role: Role;
  requireMfa: boolean;
}

const membershipKey = (orgId: string, userId: string) => `${orgId}:${userId}`;

export function createOrgCore(deps: OrgDeps): OrgCore {
  // Kept until a change on any instance drops it (never by a timer): the check on the next request
  // after a role change or a removal reads the database again, on every instance (O3).
  const kept =
    deps.bus &&
    new InvalidatedCache<KeptMembership>({
      bus: deps.bus,
      channel: MEMBERSHIP_EVENTS,
      groupOf: (m) => m.orgId,
      onError: deps.onCacheError,
    });
  const listeners: MembershipListener[] = [];
  const membership = async (tx: Tx, orgId: string, userId: string): Promise<KeptMembership | undefined> => {
    const read = async () => {
      const m = await repo.membershipOf(tx, orgId, userId);
      return m && { orgId, role: m.role, requireMfa: m.require_mfa };
    };
    return kept ? kept.getOrLoad(membershipKey(orgId, userId), read) : read();
  };
  return {
    deps,
    as: (actor, orgId, permission, fn, opts) => withPermission(deps, membership, actor, orgId, permission, fn, opts),
    membershipChanged(afterCommit, orgId, userId) {
      if (kept) {
        const message = userId === undefined ? groupMessage(orgId) : entryMessage(membershipKey(orgId, userId));
        afterCommit(() => kept.broadcast(message));
      }
      afterCommit(async () => {
        for (const listener of listeners) {
          try {
            await listener({ orgId, userId });
          } catch (err) {
            deps.onCacheError?.(err); // the change stands; the listener's failure is logged
          }
        }
      });
    },
    onMembershipChanged(listener) {
      listeners.push(listener);
    },
    close: async () => kept?.close(),
    audit: (tx, orgId, actor, action, context, target, payload) =>
      appendAudit(
        tx,
        { stream: orgStream(orgId), action, actor: actorRef(actor), target, context, payload },
        deps.clock,
      ),
  };
}

/**
 * The caller's role in the organization, read now. Not a member: 404, as if the organization did
 * not exist. (Permission checks keep memberships in memory instead, dropped on every instance by
 * membershipChanged before the change returns.)
 */
export async function roleIn(tx: Tx, orgId: string, userId: string): Promise<Role> {
  return (await membershipOf(tx, orgId, userId)).role;
}

async function membershipOf(tx: Tx, orgId: string, userId: string): Promise<{ role: Role; requireMfa: boolean }> {
  const m = await repo.membershipOf(tx, orgId, userId);
  if (!m) throw notFound('That organization');
  return { role: m.role, requireMfa: m.require_mfa };
}

/** A member's role; 404 for someone who is not a member. */
export async function memberRole(tx: Tx, orgId: string, userId: string): Promise<Role> {
  const m = await repo.memberRoleOf(tx, orgId, userId);
  if (!m) throw notFound('That member');
  return m.role;
}

type MembershipOf = (tx: Tx, orgId: string, userId: string) => Promise<{ role: Role; requireMfa: boolean } | undefined>;

async function withPermission<T>(
  deps: OrgDeps,
  membershipOf: MembershipOf,
  actor: Actor,
  orgId: string,
  permission: Permission,
  fn: PermittedFn<T>,
  opts: { mfaExempt?: boolean } = {},
): Promise<T> {
  return deps.db
    .withTenant(orgId, async (tx, afterCommit) => {
      if (actor.kind === 'key') {
        if (actor.orgId !== orgId) throw notFound('That organization');
        // A key never does more than its creator may do now: a lowered role narrows it at once.
        const creator = await membershipOf(tx, orgId, actor.createdBy);
        if (!creator) throw creatorGone();
        if (!actor.scopes.has(permission) || !can(creator.role, permission)) throw forbidden();
        return fn(tx, RANK[creator.role] < RANK[KEY_ROLE] ? creator.role : KEY_ROLE, afterCommit);
      }
      const member = await membershipOf(tx, orgId, actor.userId);
      if (!member) throw notFound('That organization');
      const { role, requireMfa } = member;
      if (requireMfa && !actor.twoFactor && !opts.mfaExempt) throw mfaRequired();
      if (!can(role, permission)) throw forbidden();
      return fn(tx, role, afterCommit);
    })
    .catch(async (err: unknown) => {
      // A malformed id is simply an organization that does not exist.
      if (err instanceof TenancyError) throw notFound('That organization');
      // Deleted by another request while this one was using it (its row, or a row pointing at it, was
      // gone): the 404 a request a moment later gets.
      if (
        (err instanceof NoResultError || (err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) &&
        !(await exists(deps.db, orgId))
      )
        throw notFound('That organization');
      throw err;
    });
}

const exists = (db: Tenancy, orgId: string) =>
  db.withTenant(orgId, async (tx) => !!(await repo.organizationIdIfExists(tx, orgId)));

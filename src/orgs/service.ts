import type { AuditAction } from '../platform/audit/actions.js';
import { randomUUID } from 'node:crypto';
import { NoResultError } from 'kysely';
import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { hashToken, looksLikeToken, randomToken, type RandomSource } from '../platform/crypto/tokens.js';
import { TenancyError, type AfterCommit, type Tenancy, type Tx } from '../platform/db/database.js';
import { notFound, platformError } from '../platform/errors.js';
import type { Mailer } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { sessionError } from '../sessions/index.js';
import { orgError } from './errors.js';
import { can, RANK, type Permission, type Role } from './permissions.js';

export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
/** PostgreSQL's SQLSTATE for a row that points at a row that is not there (any more). */
const FOREIGN_KEY_VIOLATION = '23503';

/** Who acts: a signed-in person, or an organization API key with exactly its scopes (O6). */
export type Actor =
  | { kind: 'user'; userId: string; email: string /** The session passed a second factor (A6). */; twoFactor: boolean }
  | { kind: 'key'; keyId: string; orgId: string; scopes: ReadonlySet<Permission>; createdBy: string };

/** How an actor appears in the audit log. */
export const actorRef = (a: Actor) => (a.kind === 'user' ? `user:${a.userId}` : `apikey:${a.keyId}`);
/** The person answerable for an action (a key answers through the person who created it). */
const personOf = (a: Actor) => (a.kind === 'user' ? a.userId : a.createdBy);
/** Keys rank as members when roles are compared: they never hand out or touch more than that. */
const KEY_ROLE: Role = 'member';

export interface Org {
  id: string;
  name: string;
  createdAt: Date;
  role: Role;
  /** A6: members must use a second factor to reach anything of this organization. */
  requireMfa: boolean;
}

export interface Member {
  userId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  joinedAt: Date;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invitedBy: string;
  createdAt: Date;
  expiresAt: Date;
}

const forbidden = () => orgError('forbidden');
/** A6: the member is sent to set up (or present) a second factor; API keys never meet this. */
export const mfaRequired = () => orgError('mfa_required');
const creatorGone = () =>
  orgError('invalid_api_key', {
    message: 'This API key no longer works: the person who created it is not a member any more.',
  });
const lastOwner = () => orgError('last_owner');

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
  clock: Clock;
  mailer: Mailer;
  baseUrl: string;
  random?: RandomSource;
  onMailError?: (err: unknown) => void;
}

export type OrgService = ReturnType<typeof createOrgService>;

export function createOrgService(deps: OrgDeps) {
  const { db, clock } = deps;
  const audit = (
    tx: Tx,
    orgId: string,
    actor: Actor,
    action: AuditAction,
    context: RequestContext,
    target?: string,
    payload?: Record<string, unknown>,
  ) => appendAudit(tx, { stream: orgStream(orgId), action, actor: actorRef(actor), target, context, payload }, clock);

  /**
   * The caller's role in the organization, read now (never cached: a removed member or a lowered
   * role is in force on the very next request). Not a member: 404, as if the organization did not exist.
   */
  async function roleIn(tx: Tx, orgId: string, userId: string): Promise<Role> {
    return (await membershipOf(tx, orgId, userId)).role;
  }

  async function membershipOf(tx: Tx, orgId: string, userId: string): Promise<{ role: Role; requireMfa: boolean }> {
    const m = await tx
      .selectFrom('memberships')
      .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
      .select(['memberships.role', 'organizations.require_mfa'])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
    if (!m) throw notFound('That organization');
    return { role: m.role, requireMfa: m.require_mfa };
  }

  /**
   * One tenant transaction for an actor holding a permission in the organization. A key of another
   * organization, like a person who is not a member, gets 404.
   */
  async function as<T>(
    actor: Actor,
    orgId: string,
    permission: Permission,
    fn: (tx: Tx, role: Role, afterCommit: AfterCommit) => Promise<T>,
    opts: { mfaExempt?: boolean } = {},
  ): Promise<T> {
    return db
      .withTenant(orgId, async (tx, afterCommit) => {
        if (actor.kind === 'key') {
          if (actor.orgId !== orgId) throw notFound('That organization');
          // A key never does more than its creator may do now: a lowered role narrows it at once.
          const creator = await tx
            .selectFrom('memberships')
            .select('role')
            .where('org_id', '=', orgId)
            .where('user_id', '=', actor.createdBy)
            .executeTakeFirst();
          if (!creator) throw creatorGone();
          if (!actor.scopes.has(permission) || !can(creator.role, permission)) throw forbidden();
          return fn(tx, RANK[creator.role] < RANK[KEY_ROLE] ? creator.role : KEY_ROLE, afterCommit);
        }
        const { role, requireMfa } = await membershipOf(tx, orgId, actor.userId);
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
          !(await exists(orgId))
        )
          throw notFound('That organization');
        throw err;
      });
  }

  const exists = (orgId: string) =>
    db.withTenant(
      orgId,
      async (tx) => !!(await tx.selectFrom('organizations').select('id').where('id', '=', orgId).executeTakeFirst()),
    );

  async function owners(tx: Tx, orgId: string): Promise<number> {
    const r = await tx
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('org_id', '=', orgId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async function memberRole(tx: Tx, orgId: string, userId: string): Promise<Role> {
    const m = await tx
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!m) throw notFound('That member');
    return m.role;
  }

  function sendInvitation(to: string, orgName: string, inviter: string, link: string): void {
    deps.mailer
      .send({
        to,
        subject: `You are invited to ${orgName} on Rampart`,
        text: `${inviter} invited you to join ${orgName}.\n\nAccept here (sign in or create an account with this address first):\n\n${link}\n\nThe invitation works once and expires in 7 days.\n\n— Rampart at ${new URL(deps.baseUrl).host}`,
      })
      .catch((err) => deps.onMailError?.(err));
  }

  async function issueInvitation(
    tx: Tx,
    orgId: string,
    actor: Actor,
    email: string,
    role: Role,
  ): Promise<{ id: string; link: string; orgName: string }> {
    const token = randomToken(deps.random);
    const now = clock.now();
    // One pending invitation per address: a new one replaces it.
    await tx
      .updateTable('invitations')
      .set({ revoked_at: now })
      .where('email', '=', email)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
    const row = await tx
      .insertInto('invitations')
      .values({
        org_id: orgId,
        email,
        role,
        token_hash: hashToken(token),
        invited_by: personOf(actor),
        created_at: now,
        expires_at: new Date(now.getTime() + INVITATION_LIFETIME_MS),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const org = await tx.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();
    const link = new URL('/invitations/accept', deps.baseUrl);
    link.searchParams.set('org', orgId);
    link.searchParams.set('token', token);
    return { id: row.id, link: link.toString(), orgName: org.name };
  }

  return {
    roleIn: (userId: string, orgId: string) => db.withTenant(orgId, (tx) => roleIn(tx, orgId, userId)),

    withPermission: as,

    async create(actor: Extract<Actor, { kind: 'user' }>, name: string, context: RequestContext): Promise<Org> {
      const id = randomUUID();
      const now = clock.now();
      await db.withTenant(id, async (tx) => {
        await tx.insertInto('organizations').values({ id, name, created_at: now, created_by: actor.userId }).execute();
        await tx
          .insertInto('memberships')
          .values({ org_id: id, user_id: actor.userId, role: 'owner', created_at: now })
          .execute();
        await audit(tx, id, actor, 'org.created', context, `org:${id}`, { name });
      });
      return { id, name, createdAt: now, role: 'owner', requireMfa: false };
    },

    /** The caller's organizations, for the switcher: read through the caller's own memberships only. */
    async listMine(userId: string): Promise<Org[]> {
      const rows = await db.withPerson(userId, (tx) =>
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
          .execute(),
      );
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: r.created_at,
        role: r.role,
        requireMfa: r.require_mfa,
      }));
    },

    get: (actor: Actor, orgId: string) =>
      as(actor, orgId, 'org.read', async (tx, role) => {
        const o = await tx.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirstOrThrow();
        return { id: o.id, name: o.name, createdAt: o.created_at, role, requireMfa: o.require_mfa } satisfies Org;
      }),

    /** A6: owners turn the requirement on or off; turning it on takes a second factor of your own. */
    setMfaPolicy: (actor: Actor, orgId: string, required: boolean, context: RequestContext) =>
      as(actor, orgId, 'org.require_mfa', async (tx) => {
        if (required && actor.kind === 'user' && !actor.twoFactor) {
          throw orgError('own_mfa_missing');
        }
        const before = await tx
          .selectFrom('organizations')
          .select('require_mfa')
          .where('id', '=', orgId)
          .executeTakeFirstOrThrow();
        if (before.require_mfa === required) return;
        await tx.updateTable('organizations').set({ require_mfa: required }).where('id', '=', orgId).execute();
        await audit(tx, orgId, actor, required ? 'org.mfa_required' : 'org.mfa_not_required', context, `org:${orgId}`);
      }),

    rename: (actor: Actor, orgId: string, name: string, context: RequestContext) =>
      as(actor, orgId, 'org.rename', async (tx) => {
        const before = await tx
          .selectFrom('organizations')
          .select('name')
          .where('id', '=', orgId)
          .executeTakeFirstOrThrow();
        await tx.updateTable('organizations').set({ name }).where('id', '=', orgId).execute();
        await audit(tx, orgId, actor, 'org.renamed', context, `org:${orgId}`, { from: before.name, to: name });
      }),

    /** Owner only, with the name typed again as confirmation. The org stream keeps its history. */
    remove: (actor: Actor, orgId: string, confirmName: string, context: RequestContext) =>
      as(actor, orgId, 'org.delete', async (tx, _role, afterCommit) => {
        // Locks are taken in the order every other writer takes them: the organization's rows first
        // (the lock here, then the cascade), its audit head last. Holding the head while the cascade
        // waited for a member's row deadlocked against that member's own audited change.
        const org = await tx
          .selectFrom('organizations')
          .select('name')
          .where('id', '=', orgId)
          .forUpdate()
          .executeTakeFirst();
        if (!org) throw notFound('That organization'); // a second delete that waited for the first
        if (confirmName !== org.name) {
          throw orgError('confirmation_mismatch', {
            fields: [{ field: 'confirmName', message: "does not match the organization's name" }],
          });
        }
        // S2: every member loses their role here, so their sessions rotate (marked while they are still
        // members). Their membership rows are locked before their sessions, as a role change does.
        const members = await tx
          .selectFrom('memberships')
          .select('user_id')
          .where('org_id', '=', orgId)
          .forUpdate()
          .execute();
        await deps.rotateSessionsOf(
          tx,
          afterCommit,
          members.map((m) => m.user_id),
        );
        await tx.deleteFrom('organizations').where('id', '=', orgId).execute();
        await audit(tx, orgId, actor, 'org.deleted', context, `org:${orgId}`, { name: org.name });
      }),

    members: (actor: Actor, orgId: string): Promise<Member[]> =>
      as(actor, orgId, 'members.read', async (tx) => {
        const rows = await tx
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
        return rows.map((r) => ({
          userId: r.user_id,
          email: r.email,
          role: r.role,
          invitedBy: r.invited_by,
          joinedAt: r.created_at,
        }));
      }),

    /** Never above the caller's own role, never on someone who outranks the caller; one owner always stays. */
    changeRole: async (
      actor: Actor,
      orgId: string,
      userId: string,
      role: Role,
      context: RequestContext,
    ): Promise<void> => {
      await as(actor, orgId, 'members.change_role', async (tx, actorRole, afterCommit) => {
        const current = await memberRole(tx, orgId, userId);
        if (RANK[role] > RANK[actorRole] || RANK[current] > RANK[actorRole]) throw forbidden();
        if (current === role) return;
        if (current === 'owner' && (await owners(tx, orgId)) === 1) throw lastOwner();
        await tx
          .updateTable('memberships')
          .set({ role })
          .where('org_id', '=', orgId)
          .where('user_id', '=', userId)
          .execute();
        // S2, O3: the member's sessions rotate; marked in this transaction, so both commit or neither.
        await deps.rotateSessionsOf(tx, afterCommit, [userId]);
        await audit(tx, orgId, actor, 'member.role_changed', context, `user:${userId}`, { from: current, to: role });
      });
    },

    /** Members with members.remove may remove anyone they outrank or equal; anyone may leave. */
    removeMember: async (actor: Actor, orgId: string, userId: string, context: RequestContext) => {
      const leaving = actor.kind === 'user' && userId === actor.userId;
      const permission: Permission = leaving ? 'org.read' : 'members.remove';
      await as(
        actor,
        orgId,
        permission,
        async (tx, actorRole, afterCommit) => {
          const current = await memberRole(tx, orgId, userId);
          if (RANK[current] > RANK[actorRole]) throw forbidden();
          if (current === 'owner' && (await owners(tx, orgId)) === 1) throw lastOwner();
          // S2: their sessions rotate; marked while they are still a member, in this transaction.
          await deps.rotateSessionsOf(tx, afterCommit, [userId]);
          await tx.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
          await audit(tx, orgId, actor, leaving ? 'member.left' : 'member.removed', context, `user:${userId}`, {
            role: current,
          });
          // Their keys go with them: a key's secret was shown to its creator, who is no longer trusted here.
          const keys = await tx
            .updateTable('api_keys')
            .set({ revoked_at: clock.now() })
            .where('org_id', '=', orgId)
            .where('created_by', '=', userId)
            .where('revoked_at', 'is', null)
            .returning(['id', 'name'])
            .execute();
          for (const k of keys)
            await audit(tx, orgId, actor, 'api_key.revoked', context, `api_key:${k.id}`, {
              name: k.name,
              reason: 'creator_left',
            });
          if (keys.length > 0) afterCommit(() => deps.forgetApiKeys(keys.map((k) => k.id)));
        },
        { mfaExempt: leaving },
      ); // leaving never requires setting up a second factor first
    },

    /** The caller (an owner) makes another member owner and becomes an admin. */
    transferOwnership: async (
      actor: Actor,
      orgId: string,
      toUserId: string,
      context: RequestContext,
    ): Promise<void> => {
      await as(actor, orgId, 'org.transfer_ownership', async (tx, _role, afterCommit) => {
        if (actor.kind !== 'user') throw forbidden(); // ownership moves between people only
        if (toUserId === actor.userId)
          throw platformError('invalid_request', { message: 'Choose another member to hand ownership to.' });
        await memberRole(tx, orgId, toUserId);
        await tx
          .updateTable('memberships')
          .set({ role: 'owner' })
          .where('org_id', '=', orgId)
          .where('user_id', '=', toUserId)
          .execute();
        await tx
          .updateTable('memberships')
          .set({ role: 'admin' })
          .where('org_id', '=', orgId)
          .where('user_id', '=', actor.userId)
          .execute();
        await deps.rotateSessionsOf(tx, afterCommit, [toUserId, actor.userId]);
        await audit(tx, orgId, actor, 'org.ownership_transferred', context, `user:${toUserId}`);
      });
    },

    /** O3: bound to an address, single use, 7 days, with a role no higher than the inviter's. */
    invite: async (
      actor: Actor,
      orgId: string,
      emailInput: string,
      role: Role,
      context: RequestContext,
    ): Promise<{ id: string }> => {
      const email = emailInput.trim().toLowerCase();
      const sent = await as(actor, orgId, 'members.invite', async (tx, actorRole) => {
        if (RANK[role] > RANK[actorRole]) throw forbidden();
        const existing = await tx
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select('users.id')
          .where('memberships.org_id', '=', orgId)
          .where('users.email', '=', email)
          .executeTakeFirst();
        if (existing)
          throw orgError('already_member', { fields: [{ field: 'email', message: 'is already a member' }] });
        const issued = await issueInvitation(tx, orgId, actor, email, role);
        await audit(tx, orgId, actor, 'member.invited', context, `invitation:${issued.id}`, { email, role });
        return issued;
      });
      sendInvitation(email, sent.orgName, actor.kind === 'user' ? actor.email : 'An administrator', sent.link);
      return { id: sent.id };
    },

    invitations: (actor: Actor, orgId: string): Promise<Invitation[]> =>
      as(actor, orgId, 'invitations.read', async (tx) => {
        const rows = await tx
          .selectFrom('invitations')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', clock.now())
          .orderBy('created_at', 'desc')
          .execute();
        return rows.map((r) => ({
          id: r.id,
          email: r.email,
          role: r.role,
          invitedBy: r.invited_by,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
        }));
      }),

    revokeInvitation: (actor: Actor, orgId: string, invitationId: string, context: RequestContext) =>
      as(actor, orgId, 'invitations.revoke', async (tx) => {
        const r = await tx
          .updateTable('invitations')
          .set({ revoked_at: clock.now() })
          .where('id', '=', invitationId)
          .where('org_id', '=', orgId)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null)
          .returning('email')
          .executeTakeFirst();
        if (!r) throw notFound('That invitation');
        await audit(tx, orgId, actor, 'member.invitation_revoked', context, `invitation:${invitationId}`, {
          email: r.email,
        });
      }),

    /** A fresh link (the old one stops working) for a pending invitation. */
    resendInvitation: async (
      actor: Actor,
      orgId: string,
      invitationId: string,
      context: RequestContext,
    ): Promise<{ id: string }> => {
      const sent = await as(actor, orgId, 'invitations.revoke', async (tx, actorRole) => {
        const inv = await tx
          .selectFrom('invitations')
          .selectAll()
          .where('id', '=', invitationId)
          .where('org_id', '=', orgId)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (!inv) throw notFound('That invitation');
        if (RANK[inv.role] > RANK[actorRole]) throw forbidden();
        const issued = await issueInvitation(tx, orgId, actor, inv.email, inv.role);
        await audit(tx, orgId, actor, 'member.invitation_resent', context, `invitation:${issued.id}`, {
          email: inv.email,
          replaces: invitationId,
        });
        return { ...issued, email: inv.email };
      });
      sendInvitation(sent.email, sent.orgName, actor.kind === 'user' ? actor.email : 'An administrator', sent.link);
      return { id: sent.id };
    },

    /** Needs a signed-in account whose verified address is the invited one. */
    async acceptInvitation(
      user: { id: string; email: string; emailVerified: boolean },
      orgId: string,
      token: string,
      context: RequestContext,
    ): Promise<Org> {
      const invalid = () => orgError('invalid_link');
      if (!user.emailVerified)
        throw sessionError('email_unverified', { message: 'Confirm your e-mail address first.' });
      if (!looksLikeToken(token)) throw invalid();
      return db
        .withTenant(orgId, async (tx) => {
          const inv = await tx
            .selectFrom('invitations')
            .selectAll()
            .where('token_hash', '=', hashToken(token))
            .where('org_id', '=', orgId)
            .forUpdate()
            .executeTakeFirst();
          if (!inv || inv.accepted_at || inv.revoked_at || inv.expires_at <= clock.now() || inv.email !== user.email)
            throw invalid();
          const now = clock.now();
          await tx
            .updateTable('invitations')
            .set({ accepted_at: now, accepted_by: user.id })
            .where('id', '=', inv.id)
            .execute();
          await tx
            .insertInto('memberships')
            .values({ org_id: orgId, user_id: user.id, role: inv.role, invited_by: inv.invited_by, created_at: now })
            .onConflict((oc) => oc.columns(['org_id', 'user_id']).doNothing())
            .execute();
          await appendAudit(
            tx,
            {
              stream: orgStream(orgId),
              action: 'member.joined',
              actor: `user:${user.id}`,
              target: `invitation:${inv.id}`,
              context,
              payload: { role: inv.role },
            },
            clock,
          );
          const org = await tx
            .selectFrom('organizations')
            .selectAll()
            .where('id', '=', orgId)
            .executeTakeFirstOrThrow();
          return { id: org.id, name: org.name, createdAt: org.created_at, role: inv.role, requireMfa: org.require_mfa };
        })
        .catch((err: unknown) => {
          if (err instanceof TenancyError) throw invalid();
          throw err;
        });
    },
  };
}

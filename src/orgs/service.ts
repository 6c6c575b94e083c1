import { randomUUID } from 'node:crypto';
import type { AfterCommit, Tx } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  type Actor,
  createOrgCore,
  type MembershipListener,
  type OrgCore,
  type OrgDeps,
  type PermittedFn,
  roleIn,
} from './access.js';
import { orgError } from './errors.js';
import {
  acceptInvitation,
  type Invitation,
  invitations,
  invite,
  resendInvitation,
  revokeInvitation,
} from './invitations.js';
import { changeRole, type Member, members, removeMember, transferOwnership } from './members.js';
import type { Permission, Role } from './permissions.js';
import * as repo from './repository.js';

export { type Actor, actorRef, type MembershipListener, mfaRequired, type OrgDeps } from './access.js';
export { INVITATION_LIFETIME_MS, type Invitation } from './invitations.js';
export type { Member } from './members.js';

export interface Org {
  id: string;
  name: string;
  createdAt: Date;
  role: Role;
  /** A6: members must use a second factor to reach anything of this organization. */
  requireMfa: boolean;
}

/** Organizations, their members and invitations: the rules, over the queries of repository.ts. */
export interface OrgService {
  /** The person's role in the organization, read now; 404 when not a member. */
  roleIn(userId: string, orgId: string): Promise<Role>;
  /** One tenant transaction for an actor holding a permission in the organization (404 for outsiders). */
  withPermission<T>(
    actor: Actor,
    orgId: string,
    permission: Permission,
    fn: (tx: Tx, role: Role, afterCommit: AfterCommit) => Promise<T>,
    opts?: { mfaExempt?: boolean },
  ): Promise<T>;
  /** A new organization with its creator as the one owner. */
  create(actor: Extract<Actor, { kind: 'user' }>, name: string, context: RequestContext): Promise<Org>;
  /** The caller's organizations, for the switcher: read through the caller's own memberships only. */
  listMine(userId: string): Promise<Org[]>;
  /** The organization as the actor sees it (with the actor's role). */
  get(actor: Actor, orgId: string): Promise<Org>;
  /** A6: owners turn the requirement on or off; turning it on takes a second factor of your own. */
  setMfaPolicy(actor: Actor, orgId: string, required: boolean, context: RequestContext): Promise<void>;
  /** Renames the organization. */
  rename(actor: Actor, orgId: string, name: string, context: RequestContext): Promise<void>;
  /** Owner only, with the name typed again as confirmation. The org stream keeps its history. */
  remove(actor: Actor, orgId: string, confirmName: string, context: RequestContext): Promise<void>;
  /** The members with their address and role, by address. */
  members(actor: Actor, orgId: string): Promise<Member[]>;
  /** Never above the caller's own role, never on someone who outranks the caller; one owner always stays. */
  changeRole(actor: Actor, orgId: string, userId: string, role: Role, context: RequestContext): Promise<void>;
  /** Members with members.remove may remove anyone they outrank or equal; anyone may leave. */
  removeMember(actor: Actor, orgId: string, userId: string, context: RequestContext): Promise<void>;
  /** The caller (an owner) makes another member owner and becomes an admin. */
  transferOwnership(actor: Actor, orgId: string, toUserId: string, context: RequestContext): Promise<void>;
  /** O3: bound to an address, single use, 7 days, with a role no higher than the inviter's. */
  invite(actor: Actor, orgId: string, emailInput: string, role: Role, context: RequestContext): Promise<{ id: string }>;
  /** The pending, unexpired invitations, newest first. */
  invitations(actor: Actor, orgId: string): Promise<Invitation[]>;
  /** Revokes a pending invitation (404 when there is none). */
  revokeInvitation(actor: Actor, orgId: string, invitationId: string, context: RequestContext): Promise<void>;
  /** A fresh link (the old one stops working) for a pending invitation. */
  resendInvitation(actor: Actor, orgId: string, invitationId: string, context: RequestContext): Promise<{ id: string }>;
  /** Needs a signed-in account whose verified address is the invited one. */
  acceptInvitation(
    user: { id: string; email: string; emailVerified: boolean },
    orgId: string,
    token: string,
    context: RequestContext,
  ): Promise<Org>;
  /** Stops listening for membership invalidations. */
  /** O3: after a role change, a removal, a handover, a policy change or a deletion has committed (here). */
  onMembershipChanged(listener: MembershipListener): void;
  close(): Promise<void>;
}

export function createOrgService(deps: OrgDeps): OrgService {
  const core = createOrgCore(deps);
  return {
    roleIn: (userId, orgId) => deps.db.withTenant(orgId, (tx) => roleIn(tx, orgId, userId)),
    withPermission: <T>(
      actor: Actor,
      orgId: string,
      permission: Permission,
      fn: PermittedFn<T>,
      opts?: { mfaExempt?: boolean },
    ) => core.as(actor, orgId, permission, fn, opts),
    create: (actor, name, context) => create(core, actor, name, context),
    listMine: (userId) => listMine(core, userId),
    get: (actor, orgId) => get(core, actor, orgId),
    setMfaPolicy: (actor, orgId, required, context) => setMfaPolicy(core, actor, orgId, required, context),
    rename: (actor, orgId, name, context) => rename(core, actor, orgId, name, context),
    remove: (actor, orgId, confirmName, context) => remove(core, actor, orgId, confirmName, context),
    members: (actor, orgId) => members(core, actor, orgId),
    changeRole: (actor, orgId, userId, role, context) => changeRole(core, actor, orgId, userId, role, context),
    removeMember: (actor, orgId, userId, context) => removeMember(core, actor, orgId, userId, context),
    transferOwnership: (actor, orgId, toUserId, context) => transferOwnership(core, actor, orgId, toUserId, context),
    invite: (actor, orgId, email, role, context) => invite(core, actor, orgId, email, role, context),
    invitations: (actor, orgId) => invitations(core, actor, orgId),
    revokeInvitation: (actor, orgId, invitationId, context) =>
      revokeInvitation(core, actor, orgId, invitationId, context),
    resendInvitation: (actor, orgId, invitationId, context) =>
      resendInvitation(core, actor, orgId, invitationId, context),
    acceptInvitation: (user, orgId, token, context) => acceptInvitation(core, user, orgId, token, context),
    onMembershipChanged: (listener) => core.onMembershipChanged(listener),
    close: () => core.close(),
  };
}

async function create(
  core: OrgCore,
  actor: Extract<Actor, { kind: 'user' }>,
  name: string,
  context: RequestContext,
): Promise<Org> {
  const id = randomUUID();
  const now = core.deps.clock.now();
  await core.deps.db.withTenant(id, async (tx) => {
    await repo.insertOrganization(tx, { id, name, created_at: now, created_by: actor.userId });
    await repo.insertOwnerMembership(tx, id, actor.userId, now);
    await core.audit(tx, id, actor, 'org.created', context, `org:${id}`, { name });
  });
  return { id, name, createdAt: now, role: 'owner', requireMfa: false };
}

/** The caller's organizations, for the switcher: read through the caller's own memberships only. */
async function listMine(core: OrgCore, userId: string): Promise<Org[]> {
  const rows = await core.deps.db.withPerson(userId, (tx) => repo.organizationsOf(tx, userId));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    role: r.role,
    requireMfa: r.require_mfa,
  }));
}

function get(core: OrgCore, actor: Actor, orgId: string): Promise<Org> {
  return core.as(actor, orgId, 'org.read', async (tx, role) => {
    const o = await repo.organizationById(tx, orgId);
    return { id: o.id, name: o.name, createdAt: o.created_at, role, requireMfa: o.require_mfa } satisfies Org;
  });
}

/** A6: owners turn the requirement on or off; turning it on takes a second factor of your own. */
function setMfaPolicy(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  required: boolean,
  context: RequestContext,
): Promise<void> {
  return core.as(actor, orgId, 'org.require_mfa', async (tx, _role, afterCommit) => {
    if (required && actor.kind === 'user' && !actor.twoFactor) {
      throw orgError('own_mfa_missing');
    }
    const before = await repo.organizationMfaPolicy(tx, orgId);
    if (before.require_mfa === required) return;
    await repo.setOrganizationMfaPolicy(tx, orgId, required);
    core.membershipChanged(afterCommit, orgId);
    await core.audit(tx, orgId, actor, required ? 'org.mfa_required' : 'org.mfa_not_required', context, `org:${orgId}`);
  });
}

function rename(core: OrgCore, actor: Actor, orgId: string, name: string, context: RequestContext): Promise<void> {
  return core.as(actor, orgId, 'org.rename', async (tx) => {
    const before = await repo.organizationName(tx, orgId);
    await repo.renameOrganization(tx, orgId, name);
    await core.audit(tx, orgId, actor, 'org.renamed', context, `org:${orgId}`, { from: before.name, to: name });
  });
}

/** Owner only, with the name typed again as confirmation. The org stream keeps its history. */
function remove(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  confirmName: string,
  context: RequestContext,
): Promise<void> {
  return core.as(actor, orgId, 'org.delete', async (tx, _role, afterCommit) => {
    // Locks are taken in the order every other writer takes them: the organization's rows first
    // (the lock here, then the cascade), its audit head last. Holding the head while the cascade
    // waited for a member's row deadlocked against that member's own audited change.
    const org = await repo.lockOrganization(tx, orgId);
    if (!org) throw notFound('That organization'); // a second delete that waited for the first
    if (confirmName !== org.name) {
      throw orgError('confirmation_mismatch', {
        fields: [{ field: 'confirmName', message: "does not match the organization's name" }],
      });
    }
    // S2: every member loses their role here, so their sessions rotate (marked while they are still
    // members). Their membership rows are locked before their sessions, as a role change does.
    const memberRows = await repo.lockMembers(tx, orgId);
    await core.deps.rotateSessionsOf(
      tx,
      afterCommit,
      memberRows.map((m) => m.user_id),
    );
    await repo.deleteOrganization(tx, orgId);
    core.membershipChanged(afterCommit, orgId);
    await core.audit(tx, orgId, actor, 'org.deleted', context, `org:${orgId}`, { name: org.name });
  });
}

import { platformError } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { type Actor, forbidden, lastOwner, memberRole, type OrgCore } from './access.js';
import { mayGrant, RANK, type Permission, type Role } from './permissions.js';
import * as repo from './repository.js';

export interface Member {
  userId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  joinedAt: Date;
}

export function members(core: OrgCore, actor: Actor, orgId: string): Promise<Member[]> {
  return core.as(actor, orgId, 'members.read', async (tx) => {
    const rows = await repo.membersWithEmail(tx, orgId);
    return rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      role: r.role,
      invitedBy: r.invited_by,
      joinedAt: r.created_at,
    }));
  });
}

/** Never above the caller's own role, never on someone who outranks the caller; one owner always stays. */
export async function changeRole(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  userId: string,
  role: Role,
  context: RequestContext,
): Promise<void> {
  await core.as(actor, orgId, 'members.change_role', async (tx, actorRole, afterCommit) => {
    await repo.lockMemberships(tx, orgId);
    const current = await memberRole(tx, orgId, userId);
    if (!mayGrant(actorRole, role) || RANK[current] > RANK[actorRole]) throw forbidden();
    if (current === role) return;
    if (current === 'owner' && (await repo.countOwners(tx, orgId)) === 1) throw lastOwner();
    await repo.setMemberRole(tx, orgId, userId, role);
    core.membershipChanged(afterCommit, orgId, userId);
    // S2, O3: the member's sessions rotate; marked in this transaction, so both commit or neither.
    await core.deps.rotateSessionsOf(tx, afterCommit, [userId]);
    await core.audit(tx, orgId, actor, 'member.role_changed', context, `user:${userId}`, { from: current, to: role });
  });
}

/** Members with members.remove may remove anyone they outrank or equal; anyone may leave. */
export async function removeMember(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  userId: string,
  context: RequestContext,
): Promise<void> {
  const leaving = actor.kind === 'user' && userId === actor.userId;
  const permission: Permission = leaving ? 'org.read' : 'members.remove';
  await core.as(
    actor,
    orgId,
    permission,
    async (tx, actorRole, afterCommit) => {
      await repo.lockMemberships(tx, orgId);
      const current = await memberRole(tx, orgId, userId);
      if (RANK[current] > RANK[actorRole]) throw forbidden();
      if (current === 'owner' && (await repo.countOwners(tx, orgId)) === 1) throw lastOwner();
      // S2: their sessions rotate; marked while they are still a member, in this transaction.
      await core.deps.rotateSessionsOf(tx, afterCommit, [userId]);
      await repo.deleteMembership(tx, orgId, userId);
      core.membershipChanged(afterCommit, orgId, userId);
      await core.audit(tx, orgId, actor, leaving ? 'member.left' : 'member.removed', context, `user:${userId}`, {
        role: current,
      });
      // Their keys go with them: a key's secret was shown to its creator, who is no longer trusted here.
      const keys = await repo.revokeKeysCreatedBy(tx, orgId, userId, core.deps.clock.now());
      for (const k of keys)
        await core.audit(tx, orgId, actor, 'api_key.revoked', context, `api_key:${k.id}`, {
          name: k.name,
          reason: 'creator_left',
        });
      if (keys.length > 0) afterCommit(() => core.deps.forgetApiKeys(keys.map((k) => k.id)));
    },
    { mfaExempt: leaving },
  ); // leaving never requires setting up a second factor first
}

/** The caller (an owner) makes another member owner and becomes an admin. */
export async function transferOwnership(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  toUserId: string,
  context: RequestContext,
): Promise<void> {
  await core.as(actor, orgId, 'org.transfer_ownership', async (tx, _role, afterCommit) => {
    if (actor.kind !== 'user') throw forbidden(); // ownership moves between people only
    if (toUserId === actor.userId)
      throw platformError('invalid_request', { message: 'Choose another member to hand ownership to.' });
    await repo.lockMemberships(tx, orgId);
    await memberRole(tx, orgId, toUserId);
    await repo.setMemberRole(tx, orgId, toUserId, 'owner');
    await repo.setMemberRole(tx, orgId, actor.userId, 'admin');
    core.membershipChanged(afterCommit, orgId, toUserId);
    core.membershipChanged(afterCommit, orgId, actor.userId);
    await core.deps.rotateSessionsOf(tx, afterCommit, [toUserId, actor.userId]);
    await core.audit(tx, orgId, actor, 'org.ownership_transferred', context, `user:${toUserId}`);
  });
}

import { appendAudit, orgStream } from '../platform/audit/events.js';
import { hashToken, looksLikeToken, randomToken } from '../platform/crypto/tokens.js';
import { TenancyError, type Tx } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { InvitationsTable } from '../platform/db/tables.js';
import type { RequestContext } from '../platform/request-context.js';
import { sessionError } from '../sessions/index.js';
import { type Actor, forbidden, type OrgCore, type OrgDeps, personOf } from './access.js';
import { orgError } from './errors.js';
import { mayGrant, type Role } from './permissions.js';
import * as repo from './repository.js';
import type { Org } from './service.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const INVITATION_LIFETIME_MS = 7 * DAY_MS;

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invitedBy: string;
  createdAt: Date;
  expiresAt: Date;
}

function sendInvitation(deps: OrgDeps, to: string, orgName: string, inviter: string, link: string): void {
  deps.mailer
    .send({
      to,
      subject: `You are invited to ${orgName} on Rampart`,
      text:
        `${inviter} invited you to join ${orgName}.\n\nAccept here (sign in or create an account with this ` +
        `address first):\n\n${link}\n\nThe invitation works once and expires in ` +
        `${INVITATION_LIFETIME_MS / DAY_MS} days.\n\n— Rampart at ${new URL(deps.baseUrl).host}`,
    })
    .catch((err) => deps.onMailError?.(err));
}

async function issueInvitation(
  deps: OrgDeps,
  tx: Tx,
  orgId: string,
  actor: Actor,
  email: string,
  role: Role,
): Promise<{ id: string; link: string; orgName: string }> {
  const token = randomToken(deps.random);
  const now = deps.clock.now();
  // One pending invitation per address: a new one replaces it.
  await repo.revokePendingInvitationsFor(tx, email, now);
  const row = await repo.insertInvitation(tx, {
    org_id: orgId,
    email,
    role,
    token_hash: hashToken(token),
    invited_by: personOf(actor),
    created_at: now,
    expires_at: new Date(now.getTime() + INVITATION_LIFETIME_MS),
  });
  const org = await repo.organizationName(tx, orgId);
  const link = new URL('/invitations/accept', deps.baseUrl);
  link.searchParams.set('org', orgId);
  link.searchParams.set('token', token);
  return { id: row.id, link: link.toString(), orgName: org.name };
}

const inviterName = (actor: Actor) => (actor.kind === 'user' ? actor.email : 'An administrator');

/** O3: bound to an address, single use, 7 days, with a role no higher than the inviter's. */
export async function invite(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  emailInput: string,
  role: Role,
  context: RequestContext,
): Promise<{ id: string }> {
  const email = emailInput.trim().toLowerCase();
  const sent = await core.as(actor, orgId, 'members.invite', async (tx, actorRole) => {
    if (!mayGrant(actorRole, role)) throw forbidden();
    const existing = await repo.memberByEmail(tx, orgId, email);
    if (existing) throw orgError('already_member', { fields: [{ field: 'email', message: 'is already a member' }] });
    const issued = await issueInvitation(core.deps, tx, orgId, actor, email, role);
    await core.audit(tx, orgId, actor, 'member.invited', context, `invitation:${issued.id}`, { email, role });
    return issued;
  });
  sendInvitation(core.deps, email, sent.orgName, inviterName(actor), sent.link);
  return { id: sent.id };
}

export function invitations(core: OrgCore, actor: Actor, orgId: string): Promise<Invitation[]> {
  return core.as(actor, orgId, 'invitations.read', async (tx) => {
    const rows = await repo.pendingInvitations(tx, orgId, core.deps.clock.now());
    return rows.map((r) => ({
      id: r.id,
      email: r.email,
      role: r.role,
      invitedBy: r.invited_by,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    }));
  });
}

export function revokeInvitation(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  invitationId: string,
  context: RequestContext,
): Promise<void> {
  return core.as(actor, orgId, 'invitations.revoke', async (tx) => {
    const r = await repo.revokePendingInvitation(tx, orgId, invitationId, core.deps.clock.now());
    if (!r) throw notFound('That invitation');
    await core.audit(tx, orgId, actor, 'member.invitation_revoked', context, `invitation:${invitationId}`, {
      email: r.email,
    });
  });
}

/** A fresh link (the old one stops working) for a pending invitation. */
export async function resendInvitation(
  core: OrgCore,
  actor: Actor,
  orgId: string,
  invitationId: string,
  context: RequestContext,
): Promise<{ id: string }> {
  const sent = await core.as(actor, orgId, 'invitations.revoke', async (tx, actorRole) => {
    const inv = await repo.pendingInvitation(tx, orgId, invitationId);
    if (!inv) throw notFound('That invitation');
    if (!mayGrant(actorRole, inv.role)) throw forbidden();
    const issued = await issueInvitation(core.deps, tx, orgId, actor, inv.email, inv.role);
    await core.audit(tx, orgId, actor, 'member.invitation_resent', context, `invitation:${issued.id}`, {
      email: inv.email,
      replaces: invitationId,
    });
    return { ...issued, email: inv.email };
  });
  sendInvitation(core.deps, sent.email, sent.orgName, inviterName(actor), sent.link);
  return { id: sent.id };
}

type InvitationState = Pick<InvitationsTable, 'email' | 'expires_at' | 'accepted_at' | 'revoked_at'>;

/** O3: why an invitation cannot be accepted by this address now (undefined: it can). */
export function invitationRefusal(inv: InvitationState, email: string, now: Date): string | undefined {
  if (inv.accepted_at) return 'already used';
  if (inv.revoked_at) return 'revoked';
  if (inv.expires_at <= now) return 'expired';
  if (inv.email !== email) return 'for another address';
  return undefined;
}

/** Needs a signed-in account whose verified address is the invited one. */
export async function acceptInvitation(
  core: OrgCore,
  user: { id: string; email: string; emailVerified: boolean },
  orgId: string,
  token: string,
  context: RequestContext,
): Promise<Org> {
  const { db, clock } = core.deps;
  const invalid = () => orgError('invalid_link');
  if (!user.emailVerified) throw sessionError('email_unverified', { message: 'Confirm your e-mail address first.' });
  if (!looksLikeToken(token)) throw invalid();
  return db
    .withTenant(orgId, async (tx, afterCommit) => {
      const inv = await repo.lockInvitationByTokenHash(tx, orgId, hashToken(token));
      if (!inv || invitationRefusal(inv, user.email, clock.now())) throw invalid();
      const now = clock.now();
      await repo.markInvitationAccepted(tx, inv.id, user.id, now);
      await repo.insertMembershipIfAbsent(tx, {
        org_id: orgId,
        user_id: user.id,
        role: inv.role,
        invited_by: inv.invited_by,
        created_at: now,
      });
      // S2: joining is a privilege change; marked now that they are a member, so it commits with the join.
      await core.deps.rotateSessionsOf(tx, afterCommit, [user.id]);
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
      const org = await repo.organizationById(tx, orgId);
      return { id: org.id, name: org.name, createdAt: org.created_at, role: inv.role, requireMfa: org.require_mfa };
    })
    .catch((err: unknown) => {
      if (err instanceof TenancyError) throw invalid();
      throw err;
    });
}

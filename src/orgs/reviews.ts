import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { csv } from '../platform/csv.js';
import { orgError } from './errors.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Role } from './permissions.js';
import { actorRef, type Actor, type OrgService } from './service.js';

/** Quarterly. */
export const REVIEW_INTERVAL_DAYS = 90;

export interface ReviewRow {
  userId: string;
  email: string;
  role: Role;
  joinedAt: Date;
  invitedBy: string | null;
  lastActiveAt: Date | null;
  /** A second factor (authenticator app or passkey) is set up. */
  mfa: boolean;
}

export interface ReviewReport {
  members: ReviewRow[];
  lastSignOff: { reviewer: string; at: Date; membersReviewed: number; note: string | null } | null;
  nextDue: Date;
}

/** O4: who has access, in what role, since when, last active; signed off by an owner or admin. */
export function createAccessReviews(deps: { orgs: OrgService; clock: Clock }) {
  const { orgs, clock } = deps;

  return {
    report: (actor: Actor, orgId: string): Promise<ReviewReport> =>
      orgs.withPermission(actor, orgId, 'reviews.read', async (tx) => {
        const members = await tx
          .selectFrom('memberships as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .leftJoin('users as inviter', 'inviter.id', 'm.invited_by')
          .select(['m.user_id', 'u.email', 'm.role', 'm.created_at', 'inviter.email as invited_by'])
          .select((eb) => [
            // Account-wide last activity: the newest last_seen of any of the person's sessions.
            eb
              .selectFrom('sessions as s')
              .select((s) => s.fn.max('s.last_seen_at').as('at'))
              .whereRef('s.user_id', '=', 'm.user_id')
              .as('last_active'),
            eb
              .or([
                eb.exists(
                  eb
                    .selectFrom('totp_credentials as t')
                    .select('t.user_id')
                    .whereRef('t.user_id', '=', 'm.user_id')
                    .where('t.confirmed_at', 'is not', null),
                ),
                eb.exists(eb.selectFrom('passkeys as p').select('p.user_id').whereRef('p.user_id', '=', 'm.user_id')),
              ])
              .as('mfa'),
          ])
          .where('m.org_id', '=', orgId)
          .orderBy('u.email')
          .execute();
        const last = await tx
          .selectFrom('access_reviews as r')
          // A reviewer who has left is no longer a member, so their address is no longer visible here.
          .leftJoin('users as u', 'u.id', 'r.reviewer_id')
          .select(['u.email', 'r.signed_off_at', 'r.members_reviewed', 'r.note'])
          .where('r.org_id', '=', orgId)
          .orderBy('r.signed_off_at', 'desc')
          .limit(1)
          .executeTakeFirst();
        return {
          members: members.map((m) => ({
            userId: m.user_id,
            email: m.email,
            role: m.role,
            joinedAt: m.created_at,
            invitedBy: m.invited_by,
            lastActiveAt: m.last_active ? new Date(m.last_active) : null,
            mfa: Boolean(m.mfa),
          })),
          lastSignOff: last
            ? {
                reviewer: last.email ?? 'a former member',
                at: last.signed_off_at,
                membersReviewed: last.members_reviewed,
                note: last.note,
              }
            : null,
          nextDue: last
            ? new Date(last.signed_off_at.getTime() + REVIEW_INTERVAL_DAYS * 24 * 60 * 60 * 1000)
            : clock.now(),
        };
      }),

    /** The sign-off is an audit event with the reviewer and time. People sign off, keys do not. */
    signOff: (actor: Actor, orgId: string, note: string | undefined, context: RequestContext) =>
      orgs.withPermission(actor, orgId, 'reviews.sign_off', async (tx) => {
        if (actor.kind !== 'user')
          throw orgError('forbidden', { message: 'An access review is signed off by a person.' });
        const { n } = await tx
          .selectFrom('memberships')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('org_id', '=', orgId)
          .executeTakeFirstOrThrow();
        const at = clock.now();
        await tx
          .insertInto('access_reviews')
          .values({
            org_id: orgId,
            reviewer_id: actor.userId,
            signed_off_at: at,
            members_reviewed: Number(n),
            note: note ?? null,
          })
          .execute();
        await appendAudit(
          tx,
          {
            stream: orgStream(orgId),
            action: 'access_review.signed_off',
            actor: actorRef(actor),
            context,
            payload: { membersReviewed: Number(n), note: note ?? null },
          },
          clock,
        );
        return { at };
      }),
  };
}

export type AccessReviews = ReturnType<typeof createAccessReviews>;

export function reviewCsv(report: ReviewReport): string {
  return csv(
    ['email', 'role', 'joined', 'invited_by', 'last_active', 'mfa'],
    report.members.map((m) => [
      m.email,
      m.role,
      m.joinedAt.toISOString(),
      m.invitedBy ?? '',
      m.lastActiveAt?.toISOString() ?? '',
      m.mfa ? 'yes' : 'no',
    ]),
  );
}

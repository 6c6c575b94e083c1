import { randomUUID } from 'node:crypto';
import type { TrustCheck } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import { randomToken } from '../platform/crypto/tokens.js';
import type { Database } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import { INVITATION_LIFETIME_MS, invitationRefusal } from './invitations.js';
import * as repo from './repository.js';
import type { OrgService } from './service.js';
import { sampleOrgIds } from './trust-sample.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The longest an invitation link may live (what the invitation mail promises). */
export const MAX_INVITATION_LIFETIME_MS = 7 * DAY_MS;
const SAMPLE_ORGS = 10;
const SAMPLE_MEMBERS = 50;
const SAMPLE_INVITATIONS = 200;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const fmtDays = (ms: number) => `${Math.round((ms / DAY_MS) * 10) / 10} days`;

/** The acceptance decision on a used, revoked, expired and other-address invitation, and on a fresh one. */
function decisionProblems(now: Date, lifetimeMs: number): string[] {
  const email = 'invitee@example.invalid';
  const fresh = { email, expires_at: new Date(now.getTime() + lifetimeMs), accepted_at: null, revoked_at: null };
  const refused = [
    { why: 'a used invitation', inv: { ...fresh, accepted_at: now }, email },
    { why: 'a revoked invitation', inv: { ...fresh, revoked_at: now }, email },
    { why: 'an expired invitation', inv: { ...fresh, expires_at: now }, email },
    { why: 'an invitation for another address', inv: fresh, email: 'someone-else@example.invalid' },
  ];
  const problems = refused.filter((c) => !invitationRefusal(c.inv, c.email, now)).map((c) => `${c.why} is accepted`);
  if (invitationRefusal(fresh, email, now)) problems.push('a fresh invitation to its own address is refused');
  return problems;
}

/** A made-up token, through the real acceptance (no invitation has it: nothing is written). */
async function madeUpTokenProblem(orgs: OrgService): Promise<string | undefined> {
  const user = { id: randomUUID(), email: 'trust-probe@example.invalid', emailVerified: true };
  try {
    await orgs.acceptInvitation(user, randomUUID(), randomToken(), { requestId: 'trust-check' });
    return 'a made-up invitation token was accepted';
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_link') return undefined;
    throw err;
  }
}

/** Pending invitations stored with a longer life than the policy, or with their token in the clear. */
async function storedInvitationProblems(db: Database, orgIds: string[], now: Date, lifetimeMs: number) {
  const problems: string[] = [];
  let pending = 0;
  for (const orgId of orgIds) {
    const rows = await db.withTenant(orgId, (tx) =>
      tx
        .selectFrom('invitations')
        .select(['created_at', 'expires_at', 'token_hash'])
        .where('org_id', '=', orgId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .limit(SAMPLE_INVITATIONS)
        .execute(),
    );
    pending += rows.length;
    const long = rows.filter((r) => r.expires_at.getTime() - r.created_at.getTime() > lifetimeMs).length;
    const clear = rows.filter((r) => !SHA256_HEX.test(r.token_hash)).length;
    if (long) problems.push(`${long} pending invitation(s) of org ${orgId} live longer than ${fmtDays(lifetimeMs)}`);
    if (clear) problems.push(`${clear} pending invitation(s) of org ${orgId} keep a token that is not a hash`);
  }
  return { problems, pending };
}

/**
 * O3: the role the permission gate applies now is the stored one. Memberships are kept in memory
 * until a change on any instance drops them; one kept past a change would let the member act in the old role.
 */
async function staleRoleProblems(db: Database, orgs: OrgService, orgIds: string[]) {
  const problems: string[] = [];
  let compared = 0;
  for (const orgId of orgIds) {
    if (compared >= SAMPLE_MEMBERS) break;
    const members = (await db.withTenant(orgId, (tx) => repo.membersWithEmail(tx, orgId))).slice(
      0,
      SAMPLE_MEMBERS - compared,
    );
    for (const m of members) {
      const actor = { kind: 'user' as const, userId: m.user_id, email: m.email, twoFactor: false };
      // Only the role is read: the second-factor rule is not what is compared here.
      const inForce = await orgs
        .withPermission(actor, orgId, 'org.read', async (_tx, role): Promise<string> => role, { mfaExempt: true })
        .catch((err: unknown) => {
          if (err instanceof AppError && err.code === 'not_found') return 'not a member';
          throw err;
        });
      const stored =
        (await db.withTenant(orgId, (tx) => repo.memberRoleOf(tx, orgId, m.user_id)))?.role ?? 'not a member';
      compared++;
      // Changed by a request between the two reads: not a stale gate.
      if (stored !== m.role) continue;
      if (inForce !== stored)
        problems.push(`the permission gate treats member ${m.user_id} of org ${orgId} as ${inForce}, stored ${stored}`);
    }
  }
  return { problems, compared };
}

/** O3: invitations expire, are single use and bound to an address; a role change is in force on the next request. */
export function invitationCheck(deps: {
  db: Database;
  orgs: OrgService;
  clock: Clock;
  /** The lifetime in force (a test hands in another). */
  lifetimeMs?: number;
}): TrustCheck {
  return {
    control: 'O3',
    id: 'org-invitations-and-membership',
    title:
      'Invitations expire within 7 days, work once and only for their address; a role change or removal is ' +
      'in force on the very next request',
    async run() {
      const lifetimeMs = deps.lifetimeMs ?? INVITATION_LIFETIME_MS;
      const now = deps.clock.now();
      const problems: string[] = [];
      if (!(lifetimeMs > 0 && lifetimeMs <= MAX_INVITATION_LIFETIME_MS))
        problems.push(
          `invitations live ${fmtDays(lifetimeMs)}, above the ${fmtDays(MAX_INVITATION_LIFETIME_MS)} limit`,
        );
      problems.push(...decisionProblems(now, lifetimeMs));
      const madeUp = await madeUpTokenProblem(deps.orgs);
      if (madeUp) problems.push(madeUp);
      const orgIds = await sampleOrgIds(deps.db, SAMPLE_ORGS);
      const stored = await storedInvitationProblems(deps.db, orgIds, now, lifetimeMs);
      const roles = await staleRoleProblems(deps.db, deps.orgs, orgIds);
      problems.push(...stored.problems, ...roles.problems);
      if (problems.length > 0) return { status: 'failing', detail: problems.join('; ') };
      return {
        status: 'passing',
        detail:
          `invitations live ${fmtDays(lifetimeMs)}; a made-up invitation token was refused; a used, revoked, ` +
          `expired or other-address invitation is refused; ${stored.pending} pending invitation(s) of ` +
          `${orgIds.length} organization(s) keep only a token hash and live no longer; for ${roles.compared} ` +
          'member(s) the role the permission gate applies now is the stored one',
      };
    },
  };
}

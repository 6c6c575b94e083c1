import type { TrustCheck } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import type { Database } from '../platform/db/database.js';
import { ROLES } from './permissions.js';
import * as repo from './repository.js';
import { createAccessReviews, reviewCsv } from './reviews.js';
import type { OrgService } from './service.js';
import { sampleOrgIds } from './trust-sample.js';

const SAMPLE_ORGS = 5;
const REPORT_COLUMNS = ['email', 'role', 'last_active', 'mfa'];

/** The stored sign-offs of an organization and the audit events that record them. */
async function signOffCounts(db: Database, orgId: string): Promise<{ stored: number; audited: number }> {
  return db.withTenant(orgId, async (tx) => {
    const stored = await tx
      .selectFrom('access_reviews')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    const audited = await tx
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('stream', '=', `org:${orgId}`)
      .where('action', '=', 'access_review.signed_off')
      .executeTakeFirstOrThrow();
    return { stored: Number(stored.n), audited: Number(audited.n) };
  });
}

/** What is wrong with one organization's report, built by the real report builder as one of its admins. */
async function reportProblems(
  db: Database,
  reviews: ReturnType<typeof createAccessReviews>,
  orgId: string,
  now: Date,
): Promise<{ problems: string[]; members: number; overdue: boolean } | undefined> {
  const members = await db.withTenant(orgId, (tx) => repo.membersWithEmail(tx, orgId));
  const reviewer = members.find((m) => m.role === 'owner' || m.role === 'admin');
  if (!reviewer) return undefined; // deleted: its audit stream stays
  const actor = { kind: 'user' as const, userId: reviewer.user_id, email: reviewer.email, twoFactor: true };
  const report = await reviews.report(actor, orgId);
  const problems: string[] = [];
  const listed = new Map(report.members.map((m) => [m.userId, m]));
  const missing = members.filter((m) => listed.get(m.user_id)?.role !== m.role).length;
  if (missing) problems.push(`org ${orgId}: ${missing} member(s) missing from the report or shown in another role`);
  const incomplete = report.members.filter(
    (m) =>
      !m.email ||
      !ROLES.includes(m.role) ||
      typeof m.mfa !== 'boolean' ||
      !(m.lastActiveAt === null || m.lastActiveAt instanceof Date),
  ).length;
  if (incomplete) problems.push(`org ${orgId}: ${incomplete} report row(s) lack address, role, activity or MFA`);
  const header = reviewCsv(report).split(/\r?\n/)[0]!.split(',');
  const absent = REPORT_COLUMNS.filter((c) => !header.includes(c));
  if (absent.length) problems.push(`the report's CSV lacks ${absent.join(', ')}`);
  const signOffs = await signOffCounts(db, orgId);
  if (signOffs.stored > signOffs.audited)
    problems.push(`org ${orgId}: ${signOffs.stored - signOffs.audited} sign-off(s) have no audit event`);
  if (signOffs.stored > 0 && !report.lastSignOff) problems.push(`org ${orgId}: the report shows no sign-off`);
  return { problems, members: report.members.length, overdue: report.nextDue <= now };
}

/** O4: the access review report lists every member with role, last activity and MFA; sign-offs are recorded. */
export function accessReviewCheck(deps: { db: Database; orgs: OrgService; clock: Clock }): TrustCheck {
  const reviews = createAccessReviews({ orgs: deps.orgs, clock: deps.clock });
  return {
    control: 'O4',
    id: 'org-access-review',
    title:
      'The access review report lists every member with their role, last activity and MFA status, and each ' +
      'sign-off is recorded in the audit log',
    async run() {
      const now = deps.clock.now();
      const orgIds = await sampleOrgIds(deps.db, SAMPLE_ORGS);
      const problems: string[] = [];
      let orgs = 0;
      let members = 0;
      let overdue = 0;
      for (const orgId of orgIds) {
        const r = await reportProblems(deps.db, reviews, orgId, now);
        if (!r) continue;
        orgs++;
        members += r.members;
        if (r.overdue) overdue++;
        problems.push(...r.problems);
      }
      if (problems.length > 0) return { status: 'failing', detail: problems.join('; ') };
      if (orgs === 0)
        return { status: 'not_configured', detail: 'No organization exists yet: there is no report to build.' };
      return {
        status: 'passing',
        detail:
          `the reports of ${orgs} organization(s) list all ${members} member(s) with role, last activity and MFA ` +
          `status; every stored sign-off has its audit event; ${overdue} of them due for a review now`,
      };
    },
  };
}

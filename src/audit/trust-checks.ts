import { randomBytes, randomUUID } from 'node:crypto';
import type { TrustCheck, TrustProbe } from '../feature.js';
import { can, ROLES } from '../orgs/index.js';
import { appendAudit, orgStream, streamName, verifyChain, type ChainVerdict } from '../platform/audit/events.js';
import { becomeAuditor, type Database } from '../platform/db/database.js';

/** Thrown to roll back the transaction the tamper probe writes in. */
class RollBack extends Error {}

/** An organization that has a log (the newest stream), else a made-up one. */
async function someOrgId(db: Database): Promise<string> {
  const row = await db.owner.transaction().execute(async (tx) => {
    await becomeAuditor(tx);
    return tx
      .selectFrom('audit_heads')
      .select('org_id')
      .where('stream', 'like', 'org:%')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  });
  return row?.org_id ?? randomUUID();
}

/** The log's read, export and verify endpoints, asked without any credential: each must refuse. */
async function anonymousAnswers(probe: TrustProbe, orgId: string): Promise<string[]> {
  const base = `/api/v1/orgs/${orgId}/audit`;
  const asks = [
    { method: 'GET', path: base },
    { method: 'GET', path: `${base}/export?format=csv` },
    { method: 'POST', path: `${base}/verify` },
  ];
  const problems: string[] = [];
  for (const a of asks) {
    const res = await probe.request(a.path, { method: a.method });
    if (res.status !== 401 && res.status !== 403)
      problems.push(`${a.method} ${a.path.replace(orgId, ':orgId')} without a session answered ${res.status}`);
  }
  return problems;
}

/** Who holds the log's permissions: exactly owners and admins. */
function roleProblems(): string[] {
  const problems: string[] = [];
  for (const permission of ['audit.read', 'audit.export'] as const)
    for (const role of ROLES) {
      const expected = role === 'owner' || role === 'admin';
      if (can(role, permission) !== expected) problems.push(`${role} ${expected ? 'lacks' : 'holds'} ${permission}`);
    }
  return problems;
}

/**
 * The real verifier over a chain with an altered event: two events appended to a made-up
 * organization's stream, then a third whose content does not match its hash, all rolled back.
 */
async function tamperVerdicts(db: Database): Promise<{ intact: ChainVerdict; altered: ChainVerdict }> {
  const orgId = randomUUID();
  const stream = streamName(orgStream(orgId));
  let verdicts: { intact: ChainVerdict; altered: ChainVerdict } | undefined;
  await db
    .withTenant(orgId, async (tx) => {
      const event = { stream: orgStream(orgId), action: 'audit.exported' as const, actor: 'system:trust-check' };
      await appendAudit(tx, event);
      const second = await appendAudit(tx, event);
      const intact = await verifyChain(tx, stream);
      await tx
        .insertInto('audit_events')
        .values({
          org_id: orgId,
          stream,
          seq: second.seq + 1,
          occurred_at: new Date(),
          actor: 'system:trust-check',
          action: 'audit.exported',
          target: null,
          ip: null,
          user_agent: null,
          request_id: null,
          payload: '{}',
          prev_hash: second.hash,
          hash: randomBytes(32).toString('hex'),
        })
        .execute();
      verdicts = { intact, altered: await verifyChain(tx, stream) };
      throw new RollBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RollBack)) throw err;
    });
  return verdicts!;
}

/** L2: only owners and admins reach the log's export and verification, and verification catches tampering. */
export function auditAccessCheck(db: Database): TrustCheck {
  return {
    control: 'L2',
    id: 'audit-log-access',
    title:
      "Only an organization's owners and admins can read, export and verify its audit log, and verification " +
      'catches an altered event',
    async run(probe) {
      const problems = [...(await anonymousAnswers(probe, await someOrgId(db))), ...roleProblems()];
      const { intact, altered } = await tamperVerdicts(db);
      if (!intact.ok) problems.push(`an untouched chain did not verify: ${intact.reason}`);
      if (altered.ok) problems.push('a chain with an altered event verified as intact');
      else if (altered.brokenAt !== 3) problems.push(`an altered third event was reported at ${altered.brokenAt}`);
      if (problems.length > 0) return { status: 'failing', detail: problems.join('; ') };
      return {
        status: 'passing',
        detail:
          "an organization's log, export and verify answered 401/403 without a session; only owner and admin " +
          'hold audit.read and audit.export; the verifier passed an intact 2-event chain and named the altered ' +
          `third event (${altered.ok ? '' : altered.reason}), in a transaction rolled back`,
      };
    },
  };
}

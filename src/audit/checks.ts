import { randomInt } from 'node:crypto';
import type { TrustCheck } from '../feature.js';
import { listStreams, verifyChain } from '../platform/audit/events.js';
import { becomeAuditor, type Database } from '../platform/db/database.js';

export const SAMPLE_SIZE = 20;

/** L1: a random sample of the audit streams (every organization's, people's and the system's) verifies. */
export function auditChecks(db: Database, sampleSize = SAMPLE_SIZE): TrustCheck[] {
  return [
    {
      control: 'L1',
      id: 'audit-chains',
      title: 'A random sample of audit streams verifies: every event links to the one before and is unchanged',
      async run() {
        // The read-only auditor role, as `rampart audit verify` uses: it sees every stream and changes none.
        const { verdicts, total } = await db.owner.transaction().execute(async (tx) => {
          await becomeAuditor(tx);
          const streams = await listStreams(tx);
          for (let i = streams.length - 1; i > 0; i--) {
            const j = randomInt(i + 1);
            [streams[i], streams[j]] = [streams[j]!, streams[i]!];
          }
          const sample = streams.slice(0, sampleSize);
          const out = [];
          for (const s of sample) out.push(await verifyChain(tx, s));
          return { verdicts: out, total: streams.length };
        });
        if (total === 0) return { status: 'passing', detail: 'no audit stream has any event yet' };
        const broken = verdicts.filter((v) => !v.ok);
        if (broken.length > 0)
          return {
            status: 'failing',
            detail: broken.map((v) => (v.ok ? '' : `${v.stream}: ${v.reason}`)).join('; '),
          };
        const events = verdicts.reduce((n, v) => n + v.events, 0);
        return {
          status: 'passing',
          detail: `${verdicts.length} of ${total} streams verified (${events} events), all intact`,
        };
      },
    },
  ];
}

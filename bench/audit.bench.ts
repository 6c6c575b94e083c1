import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { appendAudit, orgStream } from '../src/platform/audit/events.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { measure, report } from './measure.js';
import { testAction } from '../test/helpers/audit-actions.js';

/** L1: an audited append (lock the head, hash, insert, update head) against an empty tenant transaction. */
export async function run(): Promise<void> {
  const db = await createTestDatabase();
  try {
    const orgs = Array.from({ length: 8 }, () => randomUUID());
    let i = 0;
    const concurrency = db.kind === 'postgres' ? 8 : 1;
    const baseline = await measure(() => db.withTenant(orgs[i++ % orgs.length]!, (tx) => sql`select 1`.execute(tx)), {
      concurrency,
    });
    const subject = await measure(
      () => {
        const org = orgs[i++ % orgs.length]!;
        return db.withTenant(org, (tx) =>
          appendAudit(tx, { stream: orgStream(org), action: testAction('bench.append'), payload: { i } }),
        );
      },
      { concurrency },
    );
    report(
      `audit append on ${db.kind}, ${concurrency} concurrent over 8 streams`,
      subject,
      baseline,
      'withTenant + select 1',
    );
  } finally {
    await db.dispose();
  }
}

import { becomeAuditor, type Database } from '../platform/db/database.js';

/**
 * Up to `limit` organization ids, read through the audit heads as the read-only auditor (every
 * organization has a stream from its creation; no tenant's rows are read). A deleted organization's
 * stream stays, so a caller finds no rows for some of them.
 */
export function sampleOrgIds(db: Database, limit: number): Promise<string[]> {
  return db.owner.transaction().execute(async (tx) => {
    await becomeAuditor(tx);
    const rows = await tx
      .selectFrom('audit_heads')
      .select('org_id')
      .where('stream', 'like', 'org:%')
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.org_id);
  });
}

import type { Tenancy } from '../platform/db/database.js';
import * as repo from './repository.js';

/**
 * For the operator (a breach notice, X1): an organization's name and its owners' addresses, read
 * in that organization's own tenant transaction. Undefined when there is no such organization.
 */
export async function orgOwnersForOperator(
  db: Tenancy,
  orgId: string,
): Promise<{ id: string; name: string; owners: string[] } | undefined> {
  return db.withTenant(orgId, async (tx) => {
    if (!(await repo.organizationIdIfExists(tx, orgId))) return undefined;
    const { name } = await repo.organizationName(tx, orgId);
    const owners = (await repo.membersWithEmail(tx, orgId)).filter((m) => m.role === 'owner').map((m) => m.email);
    return { id: orgId, name, owners };
  });
}

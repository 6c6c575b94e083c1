import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, orgStream } from '../../audit/service.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { RUNTIME_ROLE, SYSTEM_ORG, TenancyError } from './database.js';

let db: TestDatabase;
const orgA = randomUUID();
const orgB = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  for (const org of [orgA, orgB]) {
    for (let i = 0; i < 3; i++) {
      await db.withTenant(org, (tx) => appendAudit(tx, { stream: orgStream(org), action: `seed.${i}` }));
    }
  }
});
afterAll(() => db.dispose());

describe(`tenancy on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('[O2] a query without any org filter returns only the current tenant rows', async () => {
    const rows = await db.withTenant(orgA, async (tx) => (await sql<{ org_id: string }>`select * from audit_events`.execute(tx)).rows);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.org_id))).toEqual(new Set([orgA]));
  });

  it('[O2] an insert carrying another org id is refused by row-level security', async () => {
    await expect(
      db.withTenant(orgA, (tx) =>
        sql`insert into audit_heads (stream, org_id, seq, hash) values (${`org:${orgB}`}, ${orgB}, 99, 'x')`.execute(tx),
      ),
    ).rejects.toThrow(/row-level security/);
    const heads = await db.withTenant(orgB, async (tx) => (await sql<{ seq: string }>`select seq from audit_heads`.execute(tx)).rows);
    expect(heads.map((h) => h.seq)).toEqual(['3']);
  });

  it('[O2] an update cannot move a row into another tenant', async () => {
    await expect(
      db.withTenant(orgA, (tx) => sql`update audit_heads set org_id = ${orgB}`.execute(tx)),
    ).rejects.toThrow(/row-level security/);
  });

  it('[O2] the runtime role cannot disable row-level security', async () => {
    await expect(
      db.withTenant(orgA, (tx) => sql`alter table audit_events disable row level security`.execute(tx)),
    ).rejects.toThrow(/must be owner/);
    await expect(
      db.withTenant(orgA, (tx) => sql`alter table audit_events no force row level security`.execute(tx)),
    ).rejects.toThrow(/must be owner/);
    await expect(db.withTenant(orgA, (tx) => sql`drop policy audit_events_tenant on audit_events`.execute(tx))).rejects.toThrow(/must be owner/);
  });

  it('[O2] turning row_security off does not reveal other tenants', async () => {
    await expect(
      db.withTenant(orgA, async (tx) => {
        await sql`set local row_security = off`.execute(tx);
        return (await sql`select * from audit_events`.execute(tx)).rows;
      }),
    ).rejects.toThrow(/row-level security/);
  });

  it('[O2] the runtime role owns nothing and cannot bypass row-level security', async () => {
    const role = await db.withSystem(async (tx) => (await sql<{ current_user: string }>`select current_user`.execute(tx)).rows[0]);
    expect(role?.current_user).toBe(RUNTIME_ROLE);
    const attrs = await sql<{ rolsuper: boolean; rolbypassrls: boolean; rolinherit: boolean }>`
      select rolsuper, rolbypassrls, rolinherit from pg_roles where rolname = ${RUNTIME_ROLE}`.execute(db.owner);
    expect(attrs.rows).toEqual([{ rolsuper: false, rolbypassrls: false, rolinherit: false }]);
    const owned = await sql`select relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = ${RUNTIME_ROLE}`.execute(db.owner);
    expect(owned.rows).toEqual([]);
  });

  it('[O2] every table with an org_id has it NOT NULL, row-level security enabled and forced, and a policy', async () => {
    const tables = await sql<{ relname: string; attnotnull: boolean; relrowsecurity: boolean; relforcerowsecurity: boolean; policies: number }>`
      select c.relname, a.attnotnull, c.relrowsecurity, c.relforcerowsecurity,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
      where c.relkind in ('r', 'p')`.execute(db.owner);
    expect(tables.rows.length).toBeGreaterThan(0);
    for (const t of tables.rows) {
      expect({ table: t.relname, notNull: t.attnotnull, rls: t.relrowsecurity, forced: t.relforcerowsecurity, policy: t.policies > 0 }).toEqual({
        table: t.relname, notNull: true, rls: true, forced: true, policy: true,
      });
    }
  });

  it('[O2] concurrent transactions for different orgs never see each other\'s setting', async () => {
    const orgs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? orgA : orgB));
    const seen = await Promise.all(
      orgs.map((org) =>
        db.withTenant(org, async (tx) => {
          const before = (await sql<{ org: string }>`select current_setting('rampart.org_id') as org`.execute(tx)).rows[0]?.org;
          await sql`select pg_sleep(0.005)`.execute(tx);
          const rows = (await sql<{ org_id: string }>`select org_id from audit_events`.execute(tx)).rows;
          return { org, before, visible: [...new Set(rows.map((r) => r.org_id))] };
        }),
      ),
    );
    for (const s of seen) expect(s).toEqual({ org: s.org, before: s.org, visible: [s.org] });
    // A pooled connection does not carry a tenant into system work afterwards.
    const leaked = await db.withSystem(async (tx) => (await sql`select * from audit_events where stream like 'org:%'`.execute(tx)).rows);
    expect(leaked).toEqual([]);
  });

  it('[O2] withTenant refuses anything but an organization id', async () => {
    await expect(db.withTenant('not-a-uuid', async () => 1)).rejects.toBeInstanceOf(TenancyError);
    await expect(db.withTenant(SYSTEM_ORG, async () => 1)).rejects.toBeInstanceOf(TenancyError);
  });

  it.runIf(process.env.DATABASE_URL)('[O2] the runtime role cannot switch to the owner role on PostgreSQL', async () => {
    await expect(db.withTenant(orgA, (tx) => sql`set role postgres`.execute(tx))).rejects.toThrow(/permission denied/);
    await expect(db.withTenant(orgA, (tx) => sql`reset role`.execute(tx).then(() => sql`alter table audit_events disable row level security`.execute(tx)))).rejects.toThrow(/must be owner/);
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, orgStream } from '../audit/events.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { RUNTIME_ROLE, SYSTEM_ORG, TenancyError } from './database.js';
import { testAction } from '../../../test/helpers/audit-actions.js';

let db: TestDatabase;
const orgA = randomUUID();
const orgB = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase();
  for (const org of [orgA, orgB]) {
    for (let i = 0; i < 3; i++) {
      await db.withTenant(org, (tx) => appendAudit(tx, { stream: orgStream(org), action: testAction(`seed.${i}`) }));
    }
  }
});
afterAll(() => db.dispose());

describe(`tenancy on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('[O2] a query without any org filter returns only the current tenant rows', async () => {
    const rows = await db.withTenant(
      orgA,
      async (tx) => (await sql<{ org_id: string }>`select * from audit_events`.execute(tx)).rows,
    );
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.org_id))).toEqual(new Set([orgA]));
  });

  it('[O2] an insert carrying another org id is refused by row-level security', async () => {
    await expect(
      db.withTenant(orgA, (tx) =>
        sql`insert into audit_heads (stream, org_id, seq, hash) values (${`org:${orgB}`}, ${orgB}, 99, 'x')`.execute(
          tx,
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    const heads = await db.withTenant(
      orgB,
      async (tx) => (await sql<{ seq: string }>`select seq from audit_heads`.execute(tx)).rows,
    );
    expect(heads.map((h) => h.seq)).toEqual(['3']);
  });

  it('[O2] an update cannot move a row into another tenant', async () => {
    await expect(db.withTenant(orgA, (tx) => sql`update audit_heads set org_id = ${orgB}`.execute(tx))).rejects.toThrow(
      /row-level security/,
    );
  });

  it('[O2] the runtime role cannot disable row-level security', async () => {
    await expect(
      db.withTenant(orgA, (tx) => sql`alter table audit_events disable row level security`.execute(tx)),
    ).rejects.toThrow(/must be owner/);
    await expect(
      db.withTenant(orgA, (tx) => sql`alter table audit_events no force row level security`.execute(tx)),
    ).rejects.toThrow(/must be owner/);
    await expect(
      db.withTenant(orgA, (tx) => sql`drop policy audit_events_tenant on audit_events`.execute(tx)),
    ).rejects.toThrow(/must be owner/);
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
    const role = await db.withSystem(
      async (tx) => (await sql<{ current_user: string }>`select current_user`.execute(tx)).rows[0],
    );
    expect(role?.current_user).toBe(RUNTIME_ROLE);
    const attrs = await sql<{ rolsuper: boolean; rolbypassrls: boolean; rolinherit: boolean }>`
      select rolsuper, rolbypassrls, rolinherit from pg_roles where rolname = ${RUNTIME_ROLE}`.execute(db.owner);
    expect(attrs.rows).toEqual([{ rolsuper: false, rolbypassrls: false, rolinherit: false }]);
    const owned = await sql`select relname from pg_class c join pg_roles r on r.oid = c.relowner
                            where r.rolname = ${RUNTIME_ROLE}`.execute(db.owner);
    expect(owned.rows).toEqual([]);
  });

  it(
    '[O2] every table with an org_id has it NOT NULL, row-level security enabled and forced, and a ' + 'policy',
    async () => {
      const tables = await sql<{
        relname: string;
        attnotnull: boolean;
        relrowsecurity: boolean;
        relforcerowsecurity: boolean;
        policies: number;
      }>`
      select c.relname, a.attnotnull, c.relrowsecurity, c.relforcerowsecurity,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
      where c.relkind in ('r', 'p')`.execute(db.owner);
      expect(tables.rows.length).toBeGreaterThan(0);
      for (const t of tables.rows) {
        expect({
          table: t.relname,
          notNull: t.attnotnull,
          rls: t.relrowsecurity,
          forced: t.relforcerowsecurity,
          policy: t.policies > 0,
        }).toEqual({
          table: t.relname,
          notNull: true,
          rls: true,
          forced: true,
          policy: true,
        });
      }
    },
  );

  it("[O2] concurrent transactions for different orgs never see each other's setting", async () => {
    const orgs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? orgA : orgB));
    const seen = await Promise.all(
      orgs.map((org) =>
        db.withTenant(org, async (tx) => {
          const before = (await sql<{ org: string }>`select current_setting('rampart.org_id') as org`.execute(tx))
            .rows[0]?.org;
          await sql`select pg_sleep(0.005)`.execute(tx);
          const rows = (await sql<{ org_id: string }>`select org_id from audit_events`.execute(tx)).rows;
          return { org, before, visible: [...new Set(rows.map((r) => r.org_id))] };
        }),
      ),
    );
    for (const s of seen) expect(s).toEqual({ org: s.org, before: s.org, visible: [s.org] });
    // A pooled connection does not carry a tenant into system work afterwards.
    const leaked = await db.withSystem(
      async (tx) => (await sql`select * from audit_events where stream like 'org:%'`.execute(tx)).rows,
    );
    expect(leaked).toEqual([]);
  });

  it('[O2] withTenant refuses anything but an organization id', async () => {
    await expect(db.withTenant('not-a-uuid', async () => 1)).rejects.toBeInstanceOf(TenancyError);
    await expect(db.withTenant(SYSTEM_ORG, async () => 1)).rejects.toBeInstanceOf(TenancyError);
  });

  it(
    '[O2] every table is classified as tenant, personal or system data, and each class is protected as it ' + 'says',
    async () => {
      const tables = await sql<{
        relname: string;
        relrowsecurity: boolean;
        relforcerowsecurity: boolean;
        policies: number;
        has_org: boolean;
        has_user: boolean;
      }>`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies,
             exists (select 1 from pg_attribute a
                      where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped) as has_org,
             exists (select 1 from pg_attribute a
                      where a.attrelid = c.oid and a.attname in ('user_id') and not a.attisdropped) as has_user
      from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      where c.relkind in ('r', 'p')`.execute(db.owner);
      // A new table fails here until someone decides what it holds (and a dropped one until it is struck off).
      expect(tables.rows.map((t) => t.relname).sort()).toEqual(Object.keys(TABLE_CLASSES).sort());
      for (const t of tables.rows) {
        const cls = TABLE_CLASSES[t.relname]!;
        const row = { table: t.relname, rls: t.relrowsecurity, forced: t.relforcerowsecurity, policy: t.policies > 0 };
        if (cls === 'owner only') {
          const grants = await sql`select privilege_type from information_schema.role_table_grants
                                   where grantee = ${RUNTIME_ROLE} and table_name = ${t.relname}`.execute(db.owner);
          expect({ table: t.relname, runtimeGrants: grants.rows }).toEqual({ table: t.relname, runtimeGrants: [] });
          continue;
        }
        expect(row).toEqual({ table: t.relname, rls: true, forced: true, policy: true });
        if (cls === 'tenant')
          expect({ table: t.relname, org_id: t.has_org || t.relname === 'organizations' }).toEqual({
            table: t.relname,
            org_id: true,
          });
        if (cls === 'personal')
          expect({ table: t.relname, user_id: t.has_user || t.relname === 'users' }).toEqual({
            table: t.relname,
            user_id: true,
          });
      }
    },
  );

  it(
    "[O2] a tenant transaction sees only its members' accounts; a person's transaction only their own; system " +
      'work every one',
    async () => {
      const [alice, bob, carol] = await db.withSystem(async (tx) => {
        const ids: string[] = [];
        for (const name of ['alice', 'bob', 'carol']) {
          const row = await tx
            .insertInto('users')
            .values({ email: `${name}.${randomUUID()}@example.com` })
            .returning('id')
            .executeTakeFirstOrThrow();
          ids.push(row.id);
          await tx
            .insertInto('sessions')
            .values({
              token_hash: randomUUID(),
              user_id: row.id,
              created_at: new Date(),
              last_seen_at: new Date(),
              idle_expires_at: new Date(),
              absolute_expires_at: new Date(),
              method: 'password',
              auth_level: 1,
              authenticated_at: new Date(),
            })
            .execute();
          await tx
            .insertInto('email_tokens')
            .values({
              user_id: row.id,
              purpose: 'magic_link',
              token_hash: randomUUID(),
              created_at: new Date(),
              expires_at: new Date(),
            })
            .execute();
        }
        return ids as [string, string, string];
      });
      const org = randomUUID();
      await db.withTenant(org, async (tx) => {
        await tx
          .insertInto('organizations')
          .values({ id: org, name: 'Members only', created_at: new Date(), created_by: alice })
          .execute();
        await tx
          .insertInto('memberships')
          .values([
            { org_id: org, user_id: alice, role: 'owner', created_at: new Date() },
            { org_id: org, user_id: bob, role: 'member', created_at: new Date() },
          ])
          .execute();
      });
      const idsIn = async (ctx: 'tenant' | 'person' | 'system', table: 'users' | 'sessions' | 'email_tokens') => {
        const q = (tx: Parameters<Parameters<typeof db.withSystem>[0]>[0]) =>
          sql<{
            id: string;
          }>`select ${sql.ref(table === 'users' ? 'id' : 'user_id')} as id from ${sql.table(table)}`.execute(tx);
        const rows =
          ctx === 'tenant'
            ? await db.withTenant(org, q)
            : ctx === 'person'
              ? await db.withPerson(carol, q)
              : await db.withSystem(q);
        return new Set(rows.rows.map((r) => r.id).filter((id) => [alice, bob, carol].includes(id)));
      };
      expect(await idsIn('tenant', 'users')).toEqual(new Set([alice, bob]));
      expect(await idsIn('tenant', 'sessions')).toEqual(new Set([alice, bob]));
      expect(await idsIn('tenant', 'email_tokens')).toEqual(new Set());
      expect(await idsIn('person', 'users')).toEqual(new Set([carol]));
      expect(await idsIn('person', 'sessions')).toEqual(new Set([carol]));
      expect(await idsIn('system', 'users')).toEqual(new Set([alice, bob, carol]));
      // ...and a tenant cannot write a person's rows, not even a member's.
      await expect(
        db.withTenant(org, (tx) =>
          tx.updateTable('users').set({ email: 'taken.over@example.com' }).where('id', '=', bob).execute(),
        ),
      ).resolves.toEqual([expect.objectContaining({ numUpdatedRows: 0n })]);
      await expect(
        db.withTenant(org, (tx) =>
          tx
            .insertInto('users')
            .values({ email: `new.${randomUUID()}@example.com` })
            .execute(),
        ),
      ).rejects.toThrow(/row-level security/);
    },
  );

  it(
    '[O2] a runtime transaction cannot switch back to the owner (RESET ROLE and every other way), on either ' +
      'database',
    async () => {
      const escapes = [
        sql`set role postgres`,
        sql`reset role`,
        sql`RESET  ROLE`,
        sql`set local role postgres`,
        sql`set session authorization postgres`,
        sql`reset session authorization`,
        sql`select set_config('role', 'postgres', true)`,
        sql`select pg_catalog.set_config(${'role'}, ${'postgres'}, true)`,
        sql`discard all`,
        sql`reset all`,
        sql`select 1; reset role`,
        sql`do $$ begin execute 'reset role'; end $$`,
        sql`/* hidden */ reset role`,
        sql`-- hidden
        set role postgres`,
      ];
      for (const attack of escapes) {
        const attempt = db.withTenant(orgA, async (tx) => {
          await attack.execute(tx);
          await sql`alter table audit_events disable row level security`.execute(tx);
          return (await sql`select * from audit_events`.execute(tx)).rows;
        });
        await expect(attempt, attack.compile(db.owner).sql).rejects.toThrow(
          /permission denied|must be owner|may change the role|cannot|not allowed/,
        );
      }
      const rls = await sql<{
        relrowsecurity: boolean;
      }>`select relrowsecurity from pg_class where relname = 'audit_events'`.execute(db.owner);
      expect(rls.rows[0]?.relrowsecurity).toBe(true);
      // The guard does not stand in the way of ordinary work, a column named role included.
      expect(
        (await db.withTenant(orgA, (tx) => sql<{ n: number }>`select count(*)::int as n from audit_events`.execute(tx)))
          .rows[0]?.n,
      ).toBe(3);
      await db.withTenant(orgA, (tx) =>
        tx.updateTable('memberships').set({ role: 'viewer' }).where('org_id', '=', orgA).execute(),
      );
    },
  );
});

/** What each table holds. Tenant: rows of one organization. Personal: one person's rows. System:
 * the instance's own (system work only). Owner only: the runtime role has no grant at all. */
const TABLE_CLASSES: Record<string, 'tenant' | 'personal' | 'system' | 'owner only'> = {
  audit_events: 'tenant', // org streams carry their org; personal and system streams the nil org
  audit_heads: 'tenant',
  organizations: 'tenant',
  memberships: 'tenant',
  invitations: 'tenant',
  api_keys: 'tenant',
  api_key_directory: 'tenant', // the key id -> org lookup, readable before the org is known
  access_reviews: 'tenant',
  users: 'personal',
  sessions: 'personal',
  email_tokens: 'personal',
  totp_credentials: 'personal',
  recovery_codes: 'personal',
  passkeys: 'personal',
  webauthn_challenges: 'system', // tied to a session, or to none before a passwordless sign-in
  dev_mailbox: 'system',
  oidc_clients: 'system', // the products, registered by the operator
  oidc_artifacts: 'system', // looked up by identifier before the provider knows whose they are
  oidc_grants: 'system',
  oidc_signing_keys: 'system',
  oidc_access_tokens: 'system', // the JWT access tokens issued: looked up by jti (introspection, revocation)
  upstream_providers: 'system', // the operator's upstream OpenID providers (A7)
  external_identities: 'personal', // a person's linked upstream identities
  external_signin_flows: 'system', // looked up by the hash of their state before anyone is known
  oidc_backchannel_deliveries: 'system', // back-channel logout outcomes, shown to the operator
  operator_tokens: 'system', // the operator stands above every organization
  operator_users: 'system', // accounts granted the operator console
  deployment_settings: 'system', // the product's name and security contact, set by the operator
  trust_check_results: 'system', // X8: each live check's latest result, shared by the instances
  trust_check_changes: 'system', // X8: each change of a check's status
  job_runs: 'system', // each scheduled job's last run, shared by the instances (issue 15)
  disclosure_reports: 'system', // vulnerability reports: the reporter needs no account (X3)
  disclosure_timeline: 'system',
  disclosure_form_tokens: 'system', // spent report-form tokens, before anyone is known
  disclosure_settings: 'system',
  status_components: 'system', // the public status page speaks for the whole deployment (X2)
  status_days: 'system',
  status_minutes: 'system',
  status_probes: 'system',
  status_probe_results: 'system',
  status_subscribers: 'system', // status subscribers need no account
  status_subscriber_components: 'system',
  status_pending_subscriptions: 'system',
  status_notifications: 'system',
  incident_settings: 'system', // the operator's response targets per severity (X1)
  incidents: 'system', // the operator runs incidents for the whole deployment (X1, X2)
  incident_updates: 'system',
  incident_affected_orgs: 'system', // which organizations a breach affected and when they were told
  org_keys: 'tenant', // D1: each organization's key-encryption key, sealed by the master keyring
  vault_providers: 'system', // the operator's registry of connection providers
  vault_connections: 'tenant',
  vault_secrets: 'tenant',
  vault_oauth_flows: 'system', // looked up by the hash of their state before the org is known
  keyring_state: 'system', // D3: which master key version seals, which are retired; the subkey root
  keyring_instances: 'system', // D3: what each running instance holds, for rotation to wait on
  security_notices: 'tenant', // what one affected organization was told about a breach
  rampart_migrations: 'owner only',
};

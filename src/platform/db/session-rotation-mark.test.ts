import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { RUNTIME_ROLE, type Tx } from './database.js';

/**
 * Migration 0009: the one way a tenant transaction touches sessions. It may mark the sessions of a
 * member of its own organization for rotation (S2, O3), and nothing else.
 */
let db: TestDatabase;
let orgA: string;
let orgB: string;
/** alice: member of A; bob: member of B only; carol: member of nothing. */
let alice: string;
let bob: string;
let carol: string;
const MARKER = 'rampart_session_marker';

const mark = (tx: Tx, userId: string) =>
  sql<{ n: number }>`select rampart_mark_sessions_for_rotation(${userId}) as n`.execute(tx).then((r) => r.rows[0]!.n);

async function sessionsOf(userId: string) {
  return db.withSystem((tx) =>
    tx.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at').execute(),
  );
}

async function resetMarks() {
  await db.withSystem((tx) => tx.updateTable('sessions').set({ rotate_due: false }).execute());
}

beforeAll(async () => {
  db = await createTestDatabase();
  [alice, bob, carol] = await db.withSystem(async (tx) => {
    const ids: string[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const row = await tx
        .insertInto('users')
        .values({ email: `${name}.${randomUUID()}@example.com` })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
      for (const [i, revoked] of [false, false, true].entries()) {
        // Distinct times, so ordering by created_at gives the insertion order (the revoked one last).
        const now = new Date(Date.now() + i);
        await tx
          .insertInto('sessions')
          .values({
            token_hash: randomUUID(),
            user_id: row.id,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: new Date(now.getTime() + 60_000),
            absolute_expires_at: new Date(now.getTime() + 60_000),
            method: 'password',
            auth_level: 1,
            authenticated_at: now,
            revoked_at: revoked ? now : null,
            revoked_reason: revoked ? 'signed_out' : null,
          })
          .execute();
      }
    }
    return ids as [string, string, string];
  });
  orgA = randomUUID();
  orgB = randomUUID();
  for (const [org, member] of [
    [orgA, alice],
    [orgB, bob],
  ] as const) {
    await db.withTenant(org, async (tx) => {
      await tx
        .insertInto('organizations')
        .values({ id: org, name: 'Org', created_at: new Date(), created_by: member })
        .execute();
      await tx
        .insertInto('memberships')
        .values({ org_id: org, user_id: member, role: 'owner', created_at: new Date() })
        .execute();
    });
  }
});
afterAll(() => db.dispose());

describe(`the session rotation mark on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'} (O2, S2)`, () => {
  it("[O2] [S2] a tenant transaction marks its member's unrevoked sessions, and changes nothing else", async () => {
    await resetMarks();
    const before = await sessionsOf(alice);
    expect(await db.withTenant(orgA, (tx) => mark(tx, alice))).toBe(2);
    const after = await sessionsOf(alice);
    expect(after.map((s) => s.rotate_due)).toEqual([true, true, false]); // the revoked one stays as it was
    // Only rotate_due moved.
    expect(after.map((s) => ({ ...s, rotate_due: false }))).toEqual(before.map((s) => ({ ...s, rotate_due: false })));
    for (const other of [bob, carol])
      expect((await sessionsOf(other)).map((s) => s.rotate_due)).toEqual([false, false, false]);
  });

  it(
    '[O2] [S2] it refuses a user who is not a member of the organization: a member of another one, or of ' + 'none',
    async () => {
      await resetMarks();
      for (const outsider of [bob, carol, randomUUID()]) {
        await expect(db.withTenant(orgA, (tx) => mark(tx, outsider))).rejects.toThrow(
          /not a member of this organization/,
        );
      }
      // Nor does it work outside a tenant: system and person transactions work for no organization.
      await expect(db.withSystem((tx) => mark(tx, alice))).rejects.toThrow(/not a member/);
      await expect(db.withPerson(alice, (tx) => mark(tx, alice))).rejects.toThrow(/not a member/);
      await expect(
        db.withTenant(orgA, (tx) => sql`select rampart_mark_sessions_for_rotation(null)`.execute(tx)),
      ).rejects.toThrow(/not a member/);
      for (const user of [alice, bob, carol])
        expect((await sessionsOf(user)).map((s) => s.rotate_due)).toEqual([false, false, false]);
    },
  );

  it('[O2] a temporary table named memberships (or sessions) does not stand in for the real one', async () => {
    await resetMarks();
    await expect(
      db.withTenant(orgA, async (tx) => {
        await sql`create temporary table memberships (org_id uuid, user_id uuid, role text) on commit drop`.execute(tx);
        await sql`insert into memberships values (${orgA}, ${carol}, 'owner')`.execute(tx);
        return mark(tx, carol);
      }),
    ).rejects.toThrow(/not a member of this organization/);
    expect((await sessionsOf(carol)).map((s) => s.rotate_due)).toEqual([false, false, false]);
  });

  it('[O2] a tenant transaction still cannot write sessions itself, not even those of its members', async () => {
    const changed = await db.withTenant(orgA, (tx) =>
      tx
        .updateTable('sessions')
        .set({ rotate_due: true, revoked_at: null })
        .where('user_id', '=', alice)
        .executeTakeFirst(),
    );
    expect(changed.numUpdatedRows).toBe(0n);
  });

  it(
    '[O2] the function runs as a role that cannot bypass row-level security and may write rotate_due and ' +
      'nothing else',
    async () => {
      const fn = await sql<{ prosecdef: boolean; owner: string; config: string[] | null }>`
      select p.prosecdef, r.rolname as owner, p.proconfig as config
      from pg_proc p join pg_roles r on r.oid = p.proowner
      where p.proname = 'rampart_mark_sessions_for_rotation'`.execute(db.owner);
      expect(fn.rows).toEqual([
        { prosecdef: true, owner: MARKER, config: ['search_path=pg_catalog, public, pg_temp'] },
      ]);
      const role = await sql`
      select rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb
      from pg_roles where rolname = ${MARKER}`.execute(db.owner);
      expect(role.rows).toEqual([
        { rolsuper: false, rolbypassrls: false, rolcanlogin: false, rolcreaterole: false, rolcreatedb: false },
      ]);
      // Its grants: the columns it filters on, and rotate_due.
      const tables = await sql`
      select table_name, privilege_type from information_schema.role_table_grants where grantee = ${MARKER}`.execute(
        db.owner,
      );
      expect(tables.rows).toEqual([]);
      const columns = await sql<{ table_name: string; column_name: string; privilege_type: string }>`
      select table_name, column_name, privilege_type from information_schema.column_privileges
      where grantee = ${MARKER} order by table_name, privilege_type, column_name`.execute(db.owner);
      expect(columns.rows).toEqual([
        { table_name: 'memberships', column_name: 'org_id', privilege_type: 'SELECT' },
        { table_name: 'memberships', column_name: 'user_id', privilege_type: 'SELECT' },
        { table_name: 'sessions', column_name: 'revoked_at', privilege_type: 'SELECT' },
        { table_name: 'sessions', column_name: 'user_id', privilege_type: 'SELECT' },
        { table_name: 'sessions', column_name: 'rotate_due', privilege_type: 'UPDATE' },
      ]);
      const schema = await sql<{ create: boolean }>`
      select has_schema_privilege(${MARKER}, 'public', 'create') as create`.execute(db.owner);
      expect(schema.rows[0]?.create).toBe(false);
      // Only the runtime role may call it.
      const callers = await sql<{ public: boolean; runtime: boolean }>`
      select has_function_privilege('public', 'rampart_mark_sessions_for_rotation(uuid)', 'execute') as public,
             has_function_privilege(${RUNTIME_ROLE}, 'rampart_mark_sessions_for_rotation(uuid)', 'execute')
               as runtime`.execute(db.owner);
      expect(callers.rows).toEqual([{ public: false, runtime: true }]);
      // And it is the only function that runs with someone else's rights.
      const definers = await sql<{ proname: string }>`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prosecdef`.execute(db.owner);
      expect(definers.rows.map((r) => r.proname)).toEqual(['rampart_mark_sessions_for_rotation']);
    },
  );
});

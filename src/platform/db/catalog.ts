import { sql } from 'kysely';
import type { Tx } from './database.js';

/*
 * O2 facts read from PostgreSQL's catalog, as the runtime role sees them (the trust page's check).
 * Only what the check needs: the tables the runtime role can reach and how row-level security
 * guards them, and what the runtime role itself may do.
 */

export interface ReachableTable {
  name: string;
  rlsEnabled: boolean;
  rlsForced: boolean;
  policies: number;
}

export interface RoleFacts {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  /** Tables, views, sequences, functions and schemas the role owns (names, at most 20). */
  owns: string[];
}

/** Every table of the public schema on which the current role holds any privilege. */
export async function reachableTables(tx: Tx): Promise<ReachableTable[]> {
  const rows = await sql<{ name: string; rls: boolean; forced: boolean; policies: number }>`
    select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
           (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and has_table_privilege(current_user, c.oid, 'select, insert, update, delete, truncate, references, trigger')
    order by c.relname`.execute(tx);
  return rows.rows.map((r) => ({ name: r.name, rlsEnabled: r.rls, rlsForced: r.forced, policies: r.policies }));
}

/** The current role's attributes and what it owns (an owner is exempt from RLS unless it is forced). */
export async function currentRoleFacts(tx: Tx): Promise<RoleFacts> {
  const role = await sql<{ role: string; superuser: boolean; bypass: boolean }>`
    select rolname as role, rolsuper as superuser, rolbypassrls as bypass
    from pg_roles where rolname = current_user`.execute(tx);
  const owned = await sql<{ name: string }>`
    select name from (
      select c.relname::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relowner = (select oid from pg_roles where rolname = current_user)
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      union all
      select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.proowner = (select oid from pg_roles where rolname = current_user)
          and n.nspname not in ('pg_catalog', 'information_schema')
      union all
      select nspname::text from pg_namespace where nspowner = (select oid from pg_roles where rolname = current_user)
    ) owned order by name limit 20`.execute(tx);
  const r = role.rows[0];
  if (!r) throw new Error('the current role is not in pg_roles');
  return { role: r.role, superuser: r.superuser, bypassRls: r.bypass, owns: owned.rows.map((o) => o.name) };
}

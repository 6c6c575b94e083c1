import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { migrationsDir } from '../paths.js';
import type { Tables } from './tables.js';

const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;
// Any constant works; it only has to be the same for every Rampart process.
const MIGRATION_LOCK = 0x52414d50;

export interface MigrationFile {
  name: string;
  checksum: string;
  sql: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied files whose text changed since, or that no longer exist: the database cannot be trusted to match. */
  problems: string[];
}

export class MigrationError extends Error {}

export function readMigrations(dir = migrationsDir): MigrationFile[] {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.sql'))
    .sort();
  const seen = new Set<string>();
  return names.map((name) => {
    const match = FILE_NAME.exec(name);
    if (!match) throw new MigrationError(`migration file ${name}: name must look like 0001_create_things.sql`);
    if (seen.has(match[1]!)) throw new MigrationError(`migration file ${name}: number ${match[1]} is used twice`);
    seen.add(match[1]!);
    const text = readFileSync(path.join(dir, name), 'utf8');
    return { name, checksum: createHash('sha256').update(text).digest('hex'), sql: text };
  });
}

async function ensureLedger(db: Kysely<Tables>): Promise<void> {
  await sql`create table if not exists rampart_migrations (
    name text primary key,
    checksum text not null,
    applied_at timestamptz not null default now()
  )`.execute(db);
}

async function applied(db: Kysely<Tables>): Promise<Map<string, string>> {
  const rows = await db.selectFrom('rampart_migrations').select(['name', 'checksum']).execute();
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

function compare(files: MigrationFile[], done: Map<string, string>): MigrationStatus {
  const problems: string[] = [];
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const [name, checksum] of done) {
    const file = byName.get(name);
    if (!file)
      problems.push(
        `migration ${name} was applied but its file is missing (is this an older Rampart than the database?)`,
      );
    else if (file.checksum !== checksum)
      problems.push(
        `migration ${name} was changed after it was applied (applied ${checksum.slice(0, 12)}, file ` +
          `${file.checksum.slice(0, 12)})`,
      );
  }
  return {
    applied: files.filter((f) => done.has(f.name)).map((f) => f.name),
    pending: files.filter((f) => !done.has(f.name)).map((f) => f.name),
    problems,
  };
}

export async function migrationStatus(db: Kysely<Tables>, files = readMigrations()): Promise<MigrationStatus> {
  const ledger = await sql<{ t: string | null }>`select to_regclass('rampart_migrations')::text as t`.execute(db);
  return compare(files, ledger.rows[0]?.t ? await applied(db) : new Map());
}

/** Applies pending migrations, each in its own transaction; refuses to run if an applied file changed. */
export async function migrate(db: Kysely<Tables>, files = readMigrations()): Promise<string[]> {
  await ensureLedger(db);
  const ran: string[] = [];
  for (const file of files) {
    const didRun = await db.transaction().execute(async (tx) => {
      // Several instances may start at once: one migrates, the others wait and then find nothing to do.
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
      const status = compare(files, await applied(tx));
      if (status.problems.length > 0) throw new MigrationError(status.problems.join('; '));
      if (!status.pending.includes(file.name)) return false;
      await sql.raw(file.sql).execute(tx);
      await tx.insertInto('rampart_migrations').values({ name: file.name, checksum: file.checksum }).execute();
      return true;
    });
    if (didRun) ran.push(file.name);
  }
  return ran;
}

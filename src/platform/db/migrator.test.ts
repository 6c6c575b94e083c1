import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { migrationsDir } from '../paths.js';
import { migrate, MigrationError, migrationStatus, readMigrations } from './migrator.js';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(path.join(tmpdir(), 'rampart-migrations-'));
  cpSync(migrationsDir, dir, { recursive: true });
});
afterAll(async () => {
  await db.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const tableExists = async (name: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${name}`.execute(db.owner)).rows[0]
    ?.n === 1;

describe('migrator', () => {
  it('[platform] the shipped migrations are all applied and re-running does nothing', async () => {
    const status = await migrationStatus(db.owner);
    expect(status.pending).toEqual([]);
    expect(status.problems).toEqual([]);
    expect(status.applied.length).toBe(readMigrations().length);
    expect(await migrate(db.owner)).toEqual([]);
  });

  it('[platform] a new file is applied once, with its checksum recorded', async () => {
    writeFileSync(
      path.join(dir, '9001_add_widgets.sql'),
      'create table widgets (id int primary key);\ncreate index widgets_id on widgets (id);\n',
    );
    expect(await migrate(db.owner, readMigrations(dir))).toEqual(['9001_add_widgets.sql']);
    expect(await tableExists('widgets')).toBe(true);
    const row = await db.owner
      .selectFrom('rampart_migrations')
      .selectAll()
      .where('name', '=', '9001_add_widgets.sql')
      .executeTakeFirstOrThrow();
    expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await migrate(db.owner, readMigrations(dir))).toEqual([]);
  });

  it('[platform] a failing file changes nothing: each file runs in one transaction', async () => {
    writeFileSync(
      path.join(dir, '9002_half_done.sql'),
      'create table half_done (id int);\nselect no_such_function();\n',
    );
    await expect(migrate(db.owner, readMigrations(dir))).rejects.toThrow(/no_such_function/);
    expect(await tableExists('half_done')).toBe(false);
    expect((await migrationStatus(db.owner, readMigrations(dir))).pending).toEqual(['9002_half_done.sql']);
    rmSync(path.join(dir, '9002_half_done.sql'));
  });

  it('[platform] an applied file that was changed stops the migrator and shows in the status', async () => {
    writeFileSync(path.join(dir, '9001_add_widgets.sql'), 'create table widgets (id bigint primary key);\n');
    await expect(migrate(db.owner, readMigrations(dir))).rejects.toBeInstanceOf(MigrationError);
    const status = await migrationStatus(db.owner, readMigrations(dir));
    expect(status.problems).toEqual([expect.stringMatching(/9001_add_widgets\.sql was changed after it was applied/)]);
  });

  it('[platform] badly named files are refused', () => {
    writeFileSync(path.join(dir, 'add_things.sql'), 'select 1;');
    expect(() => readMigrations(dir)).toThrow(/must look like 0001_create_things\.sql/);
    rmSync(path.join(dir, 'add_things.sql'));
  });
});

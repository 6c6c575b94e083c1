import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrator.js';

export interface TestDatabase extends Database {
  /** The owner connection string of this test's own database (PostgreSQL only). */
  url: string | undefined;
  dispose(): Promise<void>;
}

// Test files run in parallel; roles are server-wide, so migrations of fresh databases take turns.
const SETUP_LOCK = 0x7465737;

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a new database
 * on the PostgreSQL server named by DATABASE_URL (dropped again by dispose()).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const db = await openDatabase({ dataDir: 'memory://' });
    await migrate(db.owner);
    return Object.assign(db, { url: undefined, dispose: () => db.close() });
  }

  const name = `rampart_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString() });
  try {
    await admin.query('select pg_advisory_lock($1)', [SETUP_LOCK]);
    await migrate(db.owner);
  } finally {
    await admin.query('select pg_advisory_unlock($1)', [SETUP_LOCK]);
  }
  return Object.assign(db, {
    url: url.toString(),
    async dispose() {
      await db.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  });
}

import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** Throws when a statement may not run on this connection. */
export type StatementGuard = (sql: string) => void;

class PGliteConnection implements DatabaseConnection {
  constructor(
    private readonly client: PGlite,
    private readonly guard?: StatementGuard,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.guard?.(query.sql);
    // Parameterless statements go through exec() so a migration file may hold several statements.
    if (query.parameters.length === 0) {
      const results = await this.client.exec(query.sql);
      const last = results[results.length - 1];
      return { rows: (last?.rows ?? []) as R[], numAffectedRows: BigInt(last?.affectedRows ?? 0) };
    }
    const result = await this.client.query<R>(query.sql, [...query.parameters]);
    return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows ?? 0) };
  }

  // biome-ignore lint/correctness/useYield: refusing to stream is the whole implementation
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded database');
  }
}

/** PGlite is one session: it is handed out one transaction at a time, whichever Kysely asks. */
class SessionLock {
  private busy = false;
  private readonly waiting: Array<() => void> = [];
  closed = false;

  async acquire(): Promise<void> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}

class PGliteDriver implements Driver {
  private readonly connection: PGliteConnection;

  constructor(
    private readonly client: PGlite,
    private readonly lock: SessionLock,
    guard?: StatementGuard,
  ) {
    this.connection = new PGliteConnection(client, guard);
  }

  async init(): Promise<void> {
    await this.client.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    this.lock.release();
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await conn.executeQuery(CompiledQuery.raw(`start transaction${level}`));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    if (this.lock.closed) return;
    this.lock.closed = true;
    await this.client.close();
  }
}

/**
 * Dialects for one PGlite session. Each Kysely made from one shares the session's lock; a guarded
 * dialect refuses, before PGlite sees them, the statements its guard rejects.
 */
export function pgliteDialects(client: PGlite): (guard?: StatementGuard) => Dialect {
  const lock = new SessionLock();
  return (guard) => new PGliteDialect(client, lock, guard);
}

class PGliteDialect implements Dialect {
  constructor(
    private readonly client: PGlite,
    private readonly lock: SessionLock,
    private readonly guard?: StatementGuard,
  ) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver() {
    return new PGliteDriver(this.client, this.lock, this.guard);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes any schema
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}

import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresDialect,
  type QueryResult,
  type Transaction,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { embeddedTemplate } from './embedded-template.js';
import { pgliteDialects, type StatementGuard } from './pglite-dialect.js';
import type { Tables } from './tables.js';

export type Tx = Transaction<Tables>;

/**
 * Registers work that runs once the transaction has committed (cache invalidations, messages to
 * other instances): in registration order, before withTenant / withSystem / withPerson returns.
 * A rollback, or a failed COMMIT, discards it. Calling it after the transaction ended throws.
 */
export type AfterCommit = (work: () => Promise<void> | void) => void;

/** What a transaction callback gets: the transaction, and the way to defer work until it commits. */
export type TxFn<T> = (tx: Tx, afterCommit: AfterCommit) => Promise<T>;

/** The role every runtime query runs as: owns nothing, cannot bypass row-level security. */
export const RUNTIME_ROLE = 'rampart_runtime';

/** The org setting that withSystem() uses: tenant rows never carry it, so system work sees none of them. */
export const SYSTEM_ORG = '00000000-0000-0000-0000-000000000000';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class TenancyError extends Error {}

/** Makes an owner transaction the read-only auditor, which sees every audit stream and nothing else. */
export async function becomeAuditor(ownerTx: Tx): Promise<void> {
  await ownerTx.executeQuery(CompiledQuery.raw('set local role rampart_auditor'));
}

/** What features get: the only two ways to reach the database at run time. */
export interface Tenancy {
  withTenant<T>(orgId: string, fn: TxFn<T>): Promise<T>;
  withSystem<T>(fn: TxFn<T>): Promise<T>;
  /** System context that also sees one person's own memberships and organizations (and nothing else of any tenant). */
  withPerson<T>(userId: string, fn: TxFn<T>): Promise<T>;
}

export interface Database extends Tenancy {
  readonly kind: 'pglite' | 'postgres';
  /** One round trip as the runtime role: throws when the database is unreachable. */
  ping(): Promise<void>;
  /** Owner connection: migrations, readiness and operator commands only. Bypasses RLS. */
  readonly owner: Kysely<Tables>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Absent: embedded PGlite in dataDir (or in memory when dataDir is 'memory://'). */
  databaseUrl?: string;
  databaseRuntimeUrl?: string;
  dataDir?: string;
  poolSize?: number;
  /** Errors of idle pooled connections (server restart, admin termination); pg would otherwise crash the process. */
  onPoolError?: (err: Error) => void;
}

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v); // bigint stays a string: no silent precision loss

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPGlite(options.dataDir ?? 'memory://');
}

// bigint comes back as a string, as it does from pg: both databases must behave alike. PostgreSQL's
// default 128 MB of shared buffers would live in this process's memory on top of the OS page cache
// that already holds the files; one process's working set needs far less.
const PGLITE_OPTIONS = { parsers: { 20: (v: string) => v }, postgresqlconf: ['shared_buffers=16MB'] };

/**
 * A fresh data directory gets initdb in a worker thread. PGlite runs initdb in a second instance,
 * whose few hundred megabytes of WebAssembly memory the server's heap would otherwise keep for good
 * (700 MB at rest after a first start, against 250 MB after a later one); a worker's go when it exits.
 */
function initdbInWorker(dataDir: string): Promise<void> {
  const pglite = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const code =
    "const { workerData: w } = require('node:worker_threads');" +
    'import(w.pglite).then(async ({ PGlite }) => { await (await PGlite.create(w.dataDir, w.options)).close(); });';
  const { parsers: _, ...options } = PGLITE_OPTIONS; // functions cannot cross to a worker; initdb needs none
  return new Promise((resolve, reject) => {
    new Worker(code, { eval: true, workerData: { pglite, dataDir, options } })
      .once('error', reject)
      .once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited with code ${code}`))));
  });
}

async function openPGliteClient(dataDir: string): Promise<PGlite> {
  const inMemory = dataDir.startsWith('memory://');
  const fresh = inMemory || !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!inMemory) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const template = fresh ? embeddedTemplate() : undefined;
  if (template) return PGlite.create(dataDir, { ...PGLITE_OPTIONS, loadDataDir: template });
  if (fresh && !inMemory) await initdbInWorker(dataDir);
  return PGlite.create(dataDir, PGLITE_OPTIONS);
}

async function openPGlite(dataDir: string): Promise<Database> {
  const client = await openPGliteClient(dataDir);
  // One session, handed to one transaction at a time. Runtime transactions drop to the runtime role
  // with SET LOCAL ROLE; the session itself stays the superuser, so the runtime side may not issue
  // anything that would change the role back (RESET ROLE and the like): see embeddedRuntimeGuard.
  const dialect = pgliteDialects(client);
  const owner = new Kysely<Tables>({ dialect: dialect() });
  const runtime = new Kysely<Tables>({ dialect: new TenancyDialect(dialect(), embeddedRuntimeGuard) });
  return makeDatabase('pglite', owner, runtime, true, async () => {
    await runtime.destroy();
    await owner.destroy();
  });
}

const ROLE_STATEMENT = `set local role ${RUNTIME_ROLE}`;

/**
 * What opens every runtime transaction, sent as ONE simple-protocol query (one round trip): BEGIN,
 * on the embedded database SET LOCAL ROLE, and the transaction-local org and user settings
 * (set_config(..., true): a pooled connection never carries them to the next user). The simple
 * protocol takes no parameters, so the ids are inlined as literals, and only after they passed the
 * strict UUID check here (lowercase hex in the 8-4-4-4-12 shape, nothing before or after): nothing
 * but [0-9a-f-] can reach the SQL text. The user id may be empty (no person).
 */
export function openingStatement(orgId: string, userId: string, setRole: boolean): string {
  if (!UUID.test(orgId)) throw new TenancyError('the org setting must be a UUID');
  if (userId !== '' && !UUID.test(userId)) throw new TenancyError('the user setting must be a UUID or empty');
  const role = setRole ? `${ROLE_STATEMENT}; ` : '';
  return (
    `begin; ${role}select set_config('rampart.org_id', '${orgId}', true), ` +
    `set_config('rampart.user_id', '${userId}', true)`
  );
}

// Statements (at the start, or after a `;`) that can change the role; comments are dropped first.
const ROLE_CHANGE = new RegExp(
  String.raw`(^|;)\s*(reset\b|discard\b|do\b|set\s+(local\s+|session\s+)?("?role"?|session\s+authorization)\b)` +
    String.raw`|\bset_config\s*\(`,
  'i',
);
const COMMENTS = /--[^\n]*|\/\*[\s\S]*?\*\//g;

/**
 * On the embedded database the runtime role is only SET LOCAL on a superuser session, so a runtime
 * statement that resets or changes the role (RESET ROLE, SET ROLE, SET SESSION AUTHORIZATION,
 * set_config('role', ...), DISCARD, or a DO block that could run one) would escape row-level
 * security. Those are refused here, whatever a feature sends, without exception: the tenancy
 * layer's own opening statement does not pass through this guard at all (TenancyConnection.open),
 * so no statement text is whitelisted. On PostgreSQL the runtime role logs in as itself instead.
 */
export function embeddedRuntimeGuard(statement: string): void {
  if (ROLE_CHANGE.test(statement.replace(COMMENTS, ' ')))
    throw new TenancyError(
      'this statement may change the role, and the runtime side of the embedded database refuses it',
    );
}

/**
 * A runtime connection. BEGIN is deferred: the driver only marks the transaction as pending, and
 * the tenancy layer's `open` sends BEGIN with the role and org settings in one round trip. Until
 * then no other statement may run; `open` works once per transaction, at its start, so feature
 * code holding the connection cannot re-open it for another organization. Every other statement
 * goes through the guard (the embedded database's).
 */
class TenancyConnection implements DatabaseConnection {
  state: 'idle' | 'pending' | 'open' = 'idle';
  constructor(
    readonly inner: DatabaseConnection,
    private readonly guard?: StatementGuard,
  ) {}

  async open(statement: string): Promise<void> {
    if (this.state !== 'pending') throw new TenancyError('a transaction is opened only once, at its start');
    this.state = 'open';
    await this.inner.executeQuery(CompiledQuery.raw(statement));
  }

  private check(query: CompiledQuery): void {
    if (this.state === 'pending') throw new TenancyError('no statement runs before the transaction is opened');
    this.guard?.(query.sql);
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.check(query);
    return this.inner.executeQuery<R>(query);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    this.check(query);
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class TenancyDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, TenancyConnection>();
  constructor(
    private readonly inner: Driver,
    private readonly guard?: StatementGuard,
  ) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const conn = await this.inner.acquireConnection();
    let wrapped = this.wrapped.get(conn);
    if (!wrapped) {
      wrapped = new TenancyConnection(conn, this.guard);
      this.wrapped.set(conn, wrapped);
    }
    wrapped.state = 'idle';
    return wrapped;
  }
  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode)
      throw new TenancyError('runtime transactions take no isolation level or access mode');
    (conn as TenancyConnection).state = 'pending';
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await this.end(conn as TenancyConnection, 'commit');
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await this.end(conn as TenancyConnection, 'rollback');
  }
  private async end(conn: TenancyConnection, statement: 'commit' | 'rollback'): Promise<void> {
    const wasOpen = conn.state === 'open';
    conn.state = 'idle';
    // Never opened (the opening itself was refused): there is no transaction on the server to end.
    if (wasOpen) await conn.inner.executeQuery(CompiledQuery.raw(statement));
  }
  releaseConnection(conn: DatabaseConnection): Promise<void> {
    const c = conn as TenancyConnection;
    c.state = 'idle';
    return this.inner.releaseConnection(c.inner);
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** The runtime side of either database: its transactions are opened by the tenancy layer alone. */
class TenancyDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    private readonly guard?: StatementGuard,
  ) {}
  createAdapter() {
    return this.inner.createAdapter();
  }
  createDriver() {
    return new TenancyDriver(this.inner.createDriver(), this.guard);
  }
  createQueryCompiler() {
    return this.inner.createQueryCompiler();
  }
  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]) {
    return this.inner.createIntrospector(db);
  }
}

/** Opens the runtime transaction `tx` (one round trip); refused once it has been opened. */
function openTransaction(tx: Tx, statement: string): Promise<void> {
  return tx.getExecutor().provideConnection(async (conn) => {
    if (!(conn instanceof TenancyConnection)) throw new TenancyError('not a runtime connection');
    await conn.open(statement);
  });
}

function pool(connectionString: string, max: number, options: DatabaseOptions): pg.Pool {
  const p = new pg.Pool({ connectionString, max });
  p.on('error', options.onPoolError ?? (() => {}));
  return p;
}

async function openPostgres(databaseUrl: string, options: DatabaseOptions): Promise<Database> {
  const owner = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: pool(databaseUrl, 2, options) }) });
  const runtimeUrl = options.databaseRuntimeUrl ?? runtimeUrlFor(databaseUrl);
  const runtime = new Kysely<Tables>({
    dialect: new TenancyDialect(new PostgresDialect({ pool: pool(runtimeUrl, options.poolSize ?? 10, options) })),
  });
  return makeDatabase('postgres', owner, runtime, false, async () => {
    await runtime.destroy();
    await owner.destroy();
  });
}

/**
 * Without DATABASE_RUNTIME_URL, the runtime role logs in to the same server with no password (trust, peer, or a client
 * certificate).
 */
export function runtimeUrlFor(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.username = RUNTIME_ROLE;
  url.password = '';
  return url.toString();
}

/**
 * Runs work deferred to after a commit. Each piece runs even when an earlier one failed (each is
 * independent: one failed broadcast must not hold back the others); then the first failure is
 * thrown, so the caller learns the change committed but did not reach everyone.
 */
async function runAfterCommit(deferred: Array<() => Promise<void> | void>): Promise<void> {
  const errors: unknown[] = [];
  for (const work of deferred) {
    try {
      await work();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'work after a commit failed');
}

function makeDatabase(
  kind: Database['kind'],
  owner: Kysely<Tables>,
  runtime: Kysely<Tables>,
  setRole: boolean,
  close: () => Promise<void>,
): Database {
  async function run<T>(orgId: string, userId: string, fn: TxFn<T>): Promise<T> {
    const deferred: Array<() => Promise<void> | void> = [];
    let open = true;
    const afterCommit: AfterCommit = (work) => {
      if (!open) throw new Error('afterCommit: this transaction has already ended');
      deferred.push(work);
    };
    let result: T;
    try {
      const opening = openingStatement(orgId, userId, setRole);
      result = await runtime.transaction().execute(async (tx) => {
        await openTransaction(tx, opening);
        return fn(tx, afterCommit);
      });
    } finally {
      open = false; // committed or rolled back: nothing more can be registered
    }
    await runAfterCommit(deferred);
    return result;
  }
  let closed = false;
  return {
    kind,
    owner,
    withTenant(orgId, fn) {
      if (!UUID.test(orgId) || orgId === SYSTEM_ORG) {
        return Promise.reject(new TenancyError('withTenant needs an organization id (a UUID)'));
      }
      return run(orgId, '', fn);
    },
    withSystem(fn) {
      return run(SYSTEM_ORG, '', fn);
    },
    async ping() {
      await run(SYSTEM_ORG, '', (tx) => tx.executeQuery(CompiledQuery.raw('select 1')));
    },
    withPerson(userId, fn) {
      if (!UUID.test(userId)) return Promise.reject(new TenancyError('withPerson needs a user id (a UUID)'));
      return run(SYSTEM_ORG, userId, fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Tenancy } from '../db/database.js';
import { createInProcessRunner } from './in-process.js';
import { createJobLedger } from './ledger.js';
import { createPgBossRunner } from './pg-boss.js';
import type { JobRunner } from './runner.js';

export type { JobRunner, JobStatus, Scheduler } from './runner.js';
export { UnknownJobError } from './runner.js';
export { createJobLedger, errorMessage, type JobLedger } from './ledger.js';
export { createInProcessRunner } from './in-process.js';
export { createPgBossRunner, PGBOSS_SCHEMA, slotSeconds } from './pg-boss.js';

/**
 * The runner of this deployment: on PostgreSQL with timers on, pg-boss shares the jobs among every
 * instance; on the embedded database (one process), or without timers (tests), this process runs them.
 */
export function createJobRunner(opts: {
  logger: Logger;
  db: Tenancy;
  clock: Clock;
  /** The owner connection string, when the database is PostgreSQL. */
  databaseUrl?: string;
  timers: boolean;
}): JobRunner {
  const ledger = createJobLedger({ db: opts.db, clock: opts.clock });
  if (opts.databaseUrl && opts.timers)
    return createPgBossRunner({ logger: opts.logger, ledger, connectionString: opts.databaseUrl });
  return createInProcessRunner({ logger: opts.logger, ledger, timers: opts.timers });
}

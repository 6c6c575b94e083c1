import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { errorMessage, type JobLedger } from './ledger.js';
import { runRecorded } from './recorded.js';
import { type JobRunner, UnknownJobError } from './runner.js';

/** pg-boss's own schema, created and migrated by pg-boss itself (as the owner role) on start. */
export const PGBOSS_SCHEMA = 'pgboss';
// One key for every job of a queue: with the 'singleton' policy at most one of them is active at a time.
const SINGLETON_KEY = 'run';
const FINISHED = new Set(['completed', 'failed', 'cancelled']);
// How long run(name) waits for the queued job (Run now waits in the request): it keeps running after.
const RUN_WAIT_MS = 5 * 60_000;

export interface PgBossRunnerOptions {
  logger: Logger;
  ledger: JobLedger;
  /** The owner connection string: pg-boss creates and migrates its schema, which the runtime role never reaches. */
  connectionString: string;
  /** How often an idle worker asks its queue for a job (pg-boss 10: at least 0.5). */
  pollingIntervalSeconds?: number;
  /** Connections of pg-boss's own pool. */
  poolSize?: number;
}

interface Job {
  everyMs: number;
  work: () => Promise<void>;
  timer?: NodeJS.Timeout;
}

/** Whole seconds of one time slot: the server's clock cuts time into slots, so every instance agrees. */
export function slotSeconds(everyMs: number): number {
  return Math.max(1, Math.round(everyMs / 1000));
}

// Instances that start together create the same queue at once; PostgreSQL then picks one as a deadlock victim.
const RACES = new Set(['40P01', '23505']);

async function ensureQueue(boss: PgBoss, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(name)) return;
    try {
      await boss.createQueue(name, { name, policy: 'singleton', retryLimit: 0 });
      return;
    } catch (err) {
      if (attempt >= 5 || !RACES.has((err as { code?: string }).code ?? '')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    }
  }
}

/**
 * Several instances on one PostgreSQL database: a pg-boss queue per job. Every instance ticks at
 * half the job's interval (the first tick half an interval after start) and sends a job with
 * singletonSeconds of one interval, so pg-boss keeps one job per time slot across all of them;
 * whichever instance's worker fetches it runs it, once. The queue's 'singleton' policy keeps a
 * second job of the same queue from starting while one runs. Payloads are empty: a job carries no
 * tenant data, it finds its work in the database.
 */
export function createPgBossRunner(opts: PgBossRunnerOptions): JobRunner {
  const { logger, ledger } = opts;
  const jobs = new Map<string, Job>();
  const polling = opts.pollingIntervalSeconds ?? 2;
  const boss = new PgBoss({
    connectionString: opts.connectionString,
    schema: PGBOSS_SCHEMA,
    max: opts.poolSize ?? 3,
    application_name: 'rampart-jobs',
    schedule: false, // no cron: the ticks below make the slots
  });
  boss.on('error', (err) => logger.error({ err: { message: errorMessage(err) } }, 'job queue error'));
  let state: 'defining' | 'starting' | 'started' | 'closed' = 'defining';
  const closed = () => state === 'closed';
  let startup: Promise<void> | undefined;

  const tick = (name: string, job: Job) => {
    const options = { singletonKey: SINGLETON_KEY, singletonSeconds: slotSeconds(job.everyMs), retryLimit: 0 };
    boss.send(name, {}, options).catch((err: unknown) => logger.error({ err, job: name }, 'could not queue the job'));
  };

  const handler = (name: string, job: Job) => async () => {
    try {
      await runRecorded(ledger, logger, name, job.work);
    } catch (err) {
      // pg-boss keeps what a handler throws in pgboss.job.output: the message only, never the stack.
      throw Object.assign(new Error(errorMessage(err)), { stack: undefined });
    }
  };

  // Each job's queue, worker and timer, once set up: run(name) and close() wait for it.
  const ready = new Map<string, Promise<void>>();
  const setUp = async (name: string, job: Job) => {
    await ledger.define(name, job.everyMs);
    await ensureQueue(boss, name);
    await boss.work(name, { pollingIntervalSeconds: polling, batchSize: 1 }, handler(name, job));
    if (closed()) return;
    job.timer = setInterval(() => tick(name, job), Math.max(250, Math.floor(job.everyMs / 2)));
    job.timer.unref();
  };
  const setUpAll = () => {
    for (const [name, job] of jobs) if (!ready.has(name)) ready.set(name, setUp(name, job));
    return Promise.all(ready.values());
  };

  return {
    kind: 'pg-boss',
    every(name, everyMs, work) {
      if (jobs.has(name)) throw new Error(`scheduled job "${name}" is defined twice`);
      if (closed()) throw new Error(`scheduled job "${name}" is defined after the runner closed`);
      jobs.set(name, { everyMs, work });
      // A feature that defines its job late (in its routes) gets it set up at once.
      if (state === 'started')
        setUpAll().catch((err: unknown) => logger.error({ err, job: name }, 'could not set up the job'));
    },
    start() {
      if (state === 'defining') {
        state = 'starting';
        startup = (async () => {
          await boss.start();
          if (closed()) return;
          state = 'started';
          await setUpAll();
        })();
      }
      return startup ?? Promise.resolve();
    },
    async run(name) {
      if (!jobs.has(name)) throw new UnknownJobError(name);
      if (state !== 'started') throw new Error('the job runner is not running');
      await ready.get(name);
      const id = await boss.send(name, {}, { singletonKey: SINGLETON_KEY, retryLimit: 0 });
      if (!id) throw new Error(`job "${name}" was not queued`);
      const giveUpAt = Date.now() + RUN_WAIT_MS;
      for (;;) {
        const found = await boss.getJobById(name, id, { includeArchive: true });
        if (found && FINISHED.has(found.state)) {
          if (found.state === 'completed') return;
          const output = found.output as { message?: unknown } | null;
          throw new Error(typeof output?.message === 'string' ? output.message : `job "${name}" ${found.state}`);
        }
        if (closed()) throw new Error('the job runner closed before the job finished');
        if (Date.now() > giveUpAt) throw new Error(`job "${name}" is still queued or running; see the jobs page`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async status() {
      return ledger.list([...jobs.keys()]);
    },
    names: () => [...jobs.keys()],
    async close() {
      if (closed()) return;
      state = 'closed';
      await startup?.catch(() => {});
      await Promise.allSettled(ready.values());
      for (const job of jobs.values()) clearInterval(job.timer);
      // Graceful: the workers stop fetching, and a job in flight is waited for (up to the timeout).
      if (startup) await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    },
  };
}

import type { Logger } from 'pino';
import type { JobLedger } from './ledger.js';
import { runRecorded } from './recorded.js';
import { type JobRunner, UnknownJobError } from './runner.js';

interface Job {
  everyMs: number;
  work: () => Promise<void>;
  running?: Promise<void>;
  timer?: NodeJS.Timeout;
}

/**
 * The runner of one process (the embedded database, and tests): its own timers, and a job's runs
 * never overlap. `timers: false` (tests) runs a job only when `run(name)` asks.
 */
export function createInProcessRunner(opts: { logger: Logger; ledger: JobLedger; timers: boolean }): JobRunner {
  const { logger, ledger } = opts;
  const jobs = new Map<string, Job>();
  let started = false;
  let closed = false;

  const once = async (name: string): Promise<void> => {
    const job = jobs.get(name);
    if (!job) throw new UnknownJobError(name);
    while (job.running) await job.running.catch(() => {});
    const run = runRecorded(ledger, logger, name, job.work);
    const settled: Promise<void> = run
      .catch(() => {})
      .finally(() => {
        if (job.running === settled) job.running = undefined;
      });
    job.running = settled;
    return run;
  };

  const arm = (name: string, job: Job) => {
    if (!opts.timers || closed) return;
    job.timer = setInterval(() => {
      if (job.running) return; // the last run is still going: skip this tick
      once(name).catch((err: unknown) => logger.error({ err, job: name }, 'scheduled job failed'));
    }, job.everyMs);
    job.timer.unref();
  };

  return {
    kind: 'in-process',
    every(name, everyMs, work) {
      if (jobs.has(name)) throw new Error(`scheduled job "${name}" is defined twice`);
      const job: Job = { everyMs, work };
      jobs.set(name, job);
      if (started) {
        ledger.define(name, everyMs).catch((err: unknown) => logger.error({ err, job: name }, 'job not recorded'));
        arm(name, job);
      }
    },
    async start() {
      if (started) return;
      started = true;
      for (const [name, job] of jobs) await ledger.define(name, job.everyMs);
      for (const [name, job] of jobs) arm(name, job);
    },
    run: once,
    async status() {
      return ledger.list([...jobs.keys()]);
    },
    names: () => [...jobs.keys()],
    async close() {
      closed = true;
      for (const job of jobs.values()) clearInterval(job.timer);
      await Promise.allSettled([...jobs.values()].map((job) => job.running));
    },
  };
}

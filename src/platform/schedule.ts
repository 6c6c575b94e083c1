import type { Logger } from 'pino';

/**
 * Work that runs every so often in this process (trust checks, probes, deadline mail). Several
 * instances each run every job, so a job is written to be repeatable: it claims what it acts on in
 * the database (a conditional update) before it mails or records anything.
 */
export interface Scheduler {
  /** Runs `work` every `everyMs` (first after one interval) and whenever `run(name)` asks. */
  every(name: string, everyMs: number, work: () => Promise<void>): void;
  /** Runs the named job now and waits for it; a run already going is waited for first (no overlap). */
  run(name: string): Promise<void>;
  /** Stops the timers and waits for runs in flight. */
  close(): Promise<void>;
}

export function createScheduler(opts: { logger: Logger; timers: boolean }): Scheduler {
  const jobs = new Map<string, { work: () => Promise<void>; running?: Promise<void>; timer?: NodeJS.Timeout }>();
  const once = async (name: string) => {
    const job = jobs.get(name);
    if (!job) throw new Error(`no scheduled job named "${name}"`);
    while (job.running) await job.running;
    job.running = job.work().finally(() => {
      job.running = undefined;
    });
    return job.running;
  };
  return {
    every(name, everyMs, work) {
      if (jobs.has(name)) throw new Error(`scheduled job "${name}" is defined twice`);
      const job: { work: () => Promise<void>; running?: Promise<void>; timer?: NodeJS.Timeout } = { work };
      jobs.set(name, job);
      if (!opts.timers) return;
      job.timer = setInterval(() => {
        if (job.running) return; // the last run is still going: skip this tick
        once(name).catch((err) => opts.logger.error({ err, job: name }, 'scheduled job failed'));
      }, everyMs);
      job.timer.unref();
    },
    run: once,
    async close() {
      for (const job of jobs.values()) clearInterval(job.timer);
      await Promise.allSettled([...jobs.values()].map((job) => job.running));
    },
  };
}

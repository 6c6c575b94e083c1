import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { errorMessage, type JobRunner, type JobStatus } from '../platform/jobs/index.js';
import { operatorError } from './errors.js';
import { type Operator, operatorActor } from './service.js';

/** The console's view of the job runner: every job with its last run, and Run now. */
export interface JobsConsole {
  list(): Promise<JobStatus[]>;
  /** Runs the job now (audited first) and waits for it; a failure comes back as its message. */
  runNow(name: string, by: Operator): Promise<{ failed?: string }>;
}

export function createJobsConsole(deps: { db: Tenancy; clock: Clock; runner: JobRunner }): JobsConsole {
  const { db, clock, runner } = deps;
  return {
    async list() {
      const recorded = new Map((await runner.status()).map((s) => [s.name, s]));
      // A job defined since the ledger was last written still shows, as never run.
      return runner.names().map(
        (name) =>
          recorded.get(name) ?? {
            name,
            everyMs: 0,
            lastStartedAt: null,
            lastFinishedAt: null,
            lastOutcome: null,
            lastError: null,
            consecutiveFailures: 0,
            totalRuns: 0,
          },
      );
    },
    async runNow(name, by) {
      if (!runner.names().includes(name)) throw operatorError('job_not_found');
      await db.withSystem((tx) =>
        appendAudit(
          tx,
          { stream: systemStream, action: 'operator.job_run', actor: operatorActor(by), target: name, payload: {} },
          clock,
        ),
      );
      try {
        await runner.run(name);
        return {};
      } catch (err) {
        return { failed: errorMessage(err) };
      }
    },
  };
}

/**
 * Work that runs every so often (trust checks, probes, deadline mail). A job is written to be
 * repeatable: it claims what it acts on in the database (a conditional update) before it mails or
 * records anything, so a run that is retried or overlaps another instance's does no harm twice.
 */
export interface Scheduler {
  /** Runs `work` every `everyMs` (first after one interval) and whenever `run(name)` asks. */
  every(name: string, everyMs: number, work: () => Promise<void>): void;
  /** Runs the named job now and waits for it; a run already going is waited for first (no overlap). */
  run(name: string): Promise<void>;
  /** Stops the timers and waits for runs in flight. */
  close(): Promise<void>;
}

/** One job as the operator sees it: what the last run of any instance recorded (job_runs). */
export interface JobStatus {
  name: string;
  everyMs: number;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastOutcome: 'succeeded' | 'failed' | null;
  /** The last failure's message (cut short; never a stack or a payload), cleared by a success. */
  lastError: string | null;
  consecutiveFailures: number;
  totalRuns: number;
}

/** The Scheduler features get, with what app.ts and the operator console need besides. */
export interface JobRunner extends Scheduler {
  /** 'in-process': this process's timers; 'pg-boss': a queue per job, shared by every instance. */
  readonly kind: 'in-process' | 'pg-boss';
  /** Starts timers (and workers) for the jobs defined so far; app.ts calls it after every feature's setup. */
  start(): Promise<void>;
  /** Every defined job with its last run, by name. */
  status(): Promise<JobStatus[]>;
  /** The names of the defined jobs. */
  names(): string[];
}

export class UnknownJobError extends Error {
  constructor(name: string) {
    super(`no scheduled job named "${name}"`);
  }
}

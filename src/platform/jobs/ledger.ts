import type { Clock } from '../clock.js';
import type { Tenancy } from '../db/database.js';
import type { JobStatus } from './runner.js';

export const ERROR_MAX = 500;

// Credentials in a URL (scheme://user:secret@host) are the one secret an error message commonly carries.
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a kept message is one line of text
const CONTROL = /[\u0000-\u001f\u007f]+/g;

/** What of an error is kept: its message only, one line, without URL credentials, cut to ERROR_MAX. */
export function errorMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message || err.name : String(err);
  const line = raw.replace(CONTROL, ' ').replace(URL_CREDENTIALS, '$1***@').trim() || 'failed';
  return line.length > ERROR_MAX ? `${line.slice(0, ERROR_MAX - 1)}…` : line;
}

/**
 * job_runs: each job's last run, written by whichever instance ran it (system context, runtime role),
 * so every instance and the operator console see one picture.
 */
export interface JobLedger {
  define(name: string, everyMs: number): Promise<void>;
  started(name: string): Promise<void>;
  finished(name: string, error?: unknown): Promise<void>;
  list(names: readonly string[]): Promise<JobStatus[]>;
}

export function createJobLedger(deps: { db: Tenancy; clock: Clock }): JobLedger {
  const { db, clock } = deps;
  return {
    async define(name, everyMs) {
      await db.withSystem((tx) =>
        tx
          .insertInto('job_runs')
          .values({ name, every_ms: everyMs })
          .onConflict((oc) => oc.column('name').doUpdateSet({ every_ms: everyMs }))
          .execute(),
      );
    },
    async started(name) {
      await db.withSystem((tx) =>
        tx.updateTable('job_runs').set({ last_started_at: clock.now() }).where('name', '=', name).execute(),
      );
    },
    async finished(name, error) {
      const failed = error !== undefined;
      await db.withSystem((tx) =>
        tx
          .updateTable('job_runs')
          .set((eb) => ({
            last_finished_at: clock.now(),
            last_outcome: failed ? 'failed' : 'succeeded',
            last_error: failed ? errorMessage(error) : null,
            consecutive_failures: failed ? eb('consecutive_failures', '+', 1) : 0,
            total_runs: eb('total_runs', '+', 1),
          }))
          .where('name', '=', name)
          .execute(),
      );
    },
    async list(names) {
      if (names.length === 0) return [];
      const rows = await db.withSystem((tx) =>
        tx.selectFrom('job_runs').selectAll().where('name', 'in', names).orderBy('name').execute(),
      );
      return rows.map((r) => ({
        name: r.name,
        everyMs: Number(r.every_ms),
        lastStartedAt: r.last_started_at,
        lastFinishedAt: r.last_finished_at,
        lastOutcome: r.last_outcome,
        lastError: r.last_error,
        consecutiveFailures: r.consecutive_failures,
        totalRuns: Number(r.total_runs),
      }));
    },
  };
}

import type { TrustCheck, TrustProbe, TrustVerdict } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Database } from '../platform/db/database.js';
import { allResults, recordResult, type StoredResult } from './repository.js';

/*
 * Runs every check of the app, each with its own time limit, and records the results. A check that
 * throws, times out or answers with something that is not a verdict is failing, with its reason.
 */

export const CHECK_TIME_LIMIT_MS = 10_000;
const STATUSES = new Set(['passing', 'failing', 'not_configured']);

export interface CheckRunner {
  readonly checks: readonly TrustCheck[];
  /** Runs every check and records the results; joins a run already going (one at a time in this process). */
  runAll(): Promise<StoredResult[]>;
  /** An operator's run: after any run going, a fresh one, recorded in the system audit stream by `actor`. */
  runNow(actor: string): Promise<StoredResult[]>;
  /** The stored results; when nothing was ever checked, runs once first (unless told not to). */
  results(opts?: { runIfEmpty?: boolean }): Promise<StoredResult[]>;
}

export async function runOne(check: TrustCheck, probe: TrustProbe, limitMs: number): Promise<TrustVerdict> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<TrustVerdict>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'failing', detail: `the check did not finish within ${limitMs / 1000} s` }),
      limitMs,
    );
  });
  try {
    const verdict = await Promise.race([check.run(probe), timeout]);
    if (!verdict || !STATUSES.has(verdict.status) || typeof verdict.detail !== 'string')
      return { status: 'failing', detail: 'the check gave no verdict' };
    return verdict;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { status: 'failing', detail: `the check could not run: ${reason}` };
  } finally {
    clearTimeout(timer);
  }
}

export function checkIdsProblem(checks: readonly TrustCheck[]): string | undefined {
  const seen = new Set<string>();
  for (const c of checks) {
    if (!/^[a-z0-9][a-z0-9._-]{0,79}$/.test(c.id))
      return `trust check id "${c.id}" is not 1-80 lower-case letters, digits, dots, dashes, underscores`;
    if (!/^[A-Z][0-9]{1,2}$/.test(c.control)) return `trust check "${c.id}" names no control ID ("${c.control}")`;
    if (seen.has(c.id)) return `trust check id "${c.id}" is used twice`;
    seen.add(c.id);
  }
  return undefined;
}

export function createCheckRunner(deps: {
  db: Database;
  clock: Clock;
  checks: readonly TrustCheck[];
  probe: TrustProbe;
  limitMs?: number;
}): CheckRunner {
  const problem = checkIdsProblem(deps.checks);
  if (problem) throw new Error(problem);
  const limit = deps.limitMs ?? CHECK_TIME_LIMIT_MS;
  let running: Promise<StoredResult[]> | undefined;

  const run = async (actor?: string) => {
    const verdicts = await Promise.all(
      deps.checks.map(async (check) => ({ check, verdict: await runOne(check, deps.probe, limit) })),
    );
    const checkedAt = deps.clock.now();
    await deps.db.withSystem(async (tx) => {
      for (const { check, verdict } of verdicts)
        await recordResult(tx, { checkId: check.id, control: check.control, ...verdict, checkedAt });
      if (actor) {
        const failing = verdicts.filter((v) => v.verdict.status === 'failing').length;
        await appendAudit(
          tx,
          { stream: systemStream, action: 'trust.checks_run', actor, payload: { checks: verdicts.length, failing } },
          deps.clock,
        );
      }
    });
    return deps.db.withSystem((tx) => allResults(tx));
  };

  const start = (actor?: string) => {
    const current = run(actor).finally(() => {
      if (running === current) running = undefined;
    });
    running = current;
    return current;
  };
  const runAll = () => running ?? start();
  const runNow = async (actor: string) => {
    while (running) await running.catch(() => undefined);
    return start(actor);
  };

  return {
    checks: deps.checks,
    runAll,
    runNow,
    async results(opts = {}) {
      const stored = await deps.db.withSystem((tx) => allResults(tx));
      return stored.length > 0 || opts.runIfEmpty === false ? stored : runAll();
    },
  };
}

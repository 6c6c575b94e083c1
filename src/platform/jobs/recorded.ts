import type { Logger } from 'pino';
import type { JobLedger } from './ledger.js';

/**
 * Runs one job's work with its start and outcome written to job_runs. The work's own error is
 * rethrown; a ledger that cannot be written is logged, and never turns a run into a failure.
 */
export async function runRecorded(
  ledger: JobLedger,
  logger: Logger,
  name: string,
  work: () => Promise<void>,
): Promise<void> {
  const note = (write: Promise<void>) =>
    write.catch((err: unknown) => logger.error({ err, job: name }, 'could not record the job run'));
  await note(ledger.started(name));
  try {
    await work();
  } catch (err) {
    await note(ledger.finished(name, err));
    throw err;
  }
  await note(ledger.finished(name));
}

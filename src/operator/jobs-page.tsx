import type { OperatorPage } from '../feature.js';
import type { JobStatus } from '../platform/jobs/index.js';
import { ActionButton } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import { OperatorShell } from './pages.js';

export function every(ms: number): string {
  if (ms <= 0) return '—';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

const OUTCOME = { succeeded: 'Succeeded', failed: 'Failed' } as const;

export function JobsPage({
  pages,
  jobs,
  runner,
  csrf,
  notice,
}: {
  pages: readonly OperatorPage[];
  jobs: readonly JobStatus[];
  runner: 'in-process' | 'pg-boss';
  csrf: string;
  notice?: string;
}) {
  return (
    <OperatorShell pages={pages} current="/operator/jobs" heading="Scheduled jobs">
      <Notice text={notice} />
      <p>
        {runner === 'pg-boss'
          ? 'Jobs run on the pg-boss queue in PostgreSQL: every instance shares them, and each interval runs once.'
          : 'Jobs run in this process, on its own timers.'}{' '}
        The last run of each is what any instance recorded.
      </p>
      <Table
        columns={['Job', 'Every', 'Last run', 'Outcome', 'Last error', 'Failures in a row', 'Runs']}
        hiddenColumn="Action"
      >
        {jobs.map((j) => (
          <tr id={`job-${j.name}`}>
            <td>
              <code>{j.name}</code>
            </td>
            <td>{every(j.everyMs)}</td>
            <td>{j.lastStartedAt ? <Time at={j.lastStartedAt} precision="seconds" /> : 'Never'}</td>
            <td>{j.lastOutcome ? OUTCOME[j.lastOutcome] : j.lastStartedAt ? 'Running' : '—'}</td>
            <td>{j.lastError ?? '—'}</td>
            <td>{j.consecutiveFailures}</td>
            <td>{j.totalRuns}</td>
            <td>
              <ActionButton
                action={`/operator/jobs/${encodeURIComponent(j.name)}/run`}
                csrf={csrf}
                label={`Run ${j.name} now`}
                buttonLabel={`Run now: ${j.name}`}
              >
                Run now
              </ActionButton>
            </td>
          </tr>
        ))}
      </Table>
    </OperatorShell>
  );
}

import type { TrustCheck } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import { when } from '../platform/views/format.js';
import { deadlines, type IncidentRow, longOutage, REPORT_WITHIN_MS, responseOverdue } from './model.js';

/** X1, X2: live checks over the incidents on record (read now, never a stored verdict). */
export function incidentTrustChecks(deps: { list(): Promise<IncidentRow[]>; clock: Clock }): TrustCheck[] {
  return [
    {
      control: 'X1',
      id: 'incident-breach-deadlines',
      title: 'No notification deadline of a personal-data breach is overdue',
      async run() {
        const now = deps.clock.now();
        const breaches = (await deps.list()).filter((r) => r.breach);
        if (breaches.length === 0)
          return { status: 'passing', detail: 'No personal-data breach is on record, so no deadline is running.' };
        const overdue = breaches.flatMap((r) =>
          deadlines(r, now)
            .filter((d) => d.overdue)
            .map((d) => `"${r.title}": ${d.label}, due ${when(d.due)}`),
        );
        return overdue.length > 0
          ? { status: 'failing', detail: `Overdue: ${overdue.join('; ')}.` }
          : { status: 'passing', detail: `${breaches.length} breach(es) on record, every deadline met or running.` };
      },
    },
    {
      control: 'X1',
      id: 'incident-response-targets',
      title: 'Every open incident got its first response within the target of its severity',
      async run() {
        const now = deps.clock.now();
        const open = (await deps.list()).filter((r) => !r.draft && !r.closed_at);
        const late = open.filter((r) => responseOverdue(r, now));
        if (late.length > 0)
          return {
            status: 'failing',
            detail: `No response yet past the target: ${late.map((r) => `"${r.title}" (${r.severity})`).join(', ')}.`,
          };
        return { status: 'passing', detail: `${open.length} open incident(s), none past its response target.` };
      },
    },
    {
      control: 'X1',
      id: 'incident-report-published',
      title: 'The last incident report was published within 7 days of the resolution',
      async run() {
        const now = deps.clock.now();
        const long = (await deps.list())
          .filter((r) => r.public && !r.draft && r.resolved_at && longOutage(r, now))
          .sort((a, b) => b.resolved_at!.getTime() - a.resolved_at!.getTime());
        const last = long[0];
        if (!last)
          return { status: 'not_configured', detail: 'No public outage longer than 30 minutes is on record yet.' };
        const due = last.resolved_at!.getTime() + REPORT_WITHIN_MS;
        if (last.report_published_at)
          return last.report_published_at.getTime() <= due
            ? { status: 'passing', detail: `"${last.title}": report published ${when(last.report_published_at)}.` }
            : { status: 'failing', detail: `"${last.title}": the report came more than 7 days after the resolution.` };
        return now.getTime() <= due
          ? { status: 'passing', detail: `"${last.title}": report due by ${when(new Date(due))}, still within time.` }
          : { status: 'failing', detail: `"${last.title}": resolved ${when(last.resolved_at!)}, no report yet.` };
      },
    },
    {
      control: 'X2',
      id: 'incident-outage-reports',
      title: 'Every outage longer than 30 minutes has a written public report (7 days after resolution at most)',
      async run() {
        const now = deps.clock.now();
        const long = (await deps.list()).filter((r) => r.public && !r.draft && r.resolved_at && longOutage(r, now));
        if (long.length === 0)
          return { status: 'not_configured', detail: 'No public outage longer than 30 minutes is on record yet.' };
        const missing = long.filter(
          (r) => !r.report_published_at && now.getTime() > r.resolved_at!.getTime() + REPORT_WITHIN_MS,
        );
        return missing.length > 0
          ? { status: 'failing', detail: `No report: ${missing.map((r) => `"${r.title}"`).join(', ')}.` }
          : { status: 'passing', detail: `${long.length} long outage(s), each reported or within its 7 days.` };
      },
    },
  ];
}

import type { Selectable } from 'kysely';
import type { IncidentsTable, IncidentUpdatesTable } from '../platform/db/tables.js';

/* The rules of time: response targets, phases, breach deadlines and when a report is due. */

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type Phase = 'identify' | 'contain' | 'eradicate' | 'recover' | 'review' | 'closed';
/** Impact on status components: what the status page shows while the incident is open. */
export type Impact = 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance';
export interface PublicIncident {
  id: string;
  title: string;
  severity: Severity;
  kind: 'incident' | 'maintenance';
  impact: Impact; // worst impact on its components
  components: string[]; // status component ids affected
  phase: Phase;
  startedAt: Date; // when the impact began
  resolvedAt: Date | null; // when service was restored; null while ongoing
  scheduledStart: Date | null;
  scheduledEnd: Date | null; // maintenance windows
  updates: { at: Date; phase: Phase; message: string }[]; // public updates, newest first
  report: { publishedAt: Date; body: string } | null; // the written public report (post-mortem)
  reportDue: boolean; // an outage (partial/major) longer than 30 min, resolved, no report yet
}

export type IncidentRow = Selectable<IncidentsTable>;
export type UpdateRow = Selectable<IncidentUpdatesTable>;

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
export const PHASES: readonly Phase[] = ['identify', 'contain', 'eradicate', 'recover', 'review', 'closed'];
export const IMPACTS: readonly Impact[] = ['degraded', 'partial_outage', 'major_outage', 'maintenance'];

export type Targets = Record<Severity, number>;
/** Minutes from declaration to the first response: immediate, 4 h, 24 h, 72 h. */
export const DEFAULT_TARGETS: Targets = { critical: 0, high: 240, medium: 1440, low: 4320 };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** An outage longer than this gets a written public report (X2). */
export const REPORT_OUTAGE_MS = 30 * MINUTE;
/** GDPR Art. 33(1) and 34: customers and the regulator within 72 hours of becoming aware. */
export const NOTIFY_WITHIN_MS = 72 * HOUR;
/** The full report within 7 days of becoming aware; a public report within 7 days of resolution. */
export const REPORT_WITHIN_MS = 7 * 24 * HOUR;

export const respondBy = (declaredAt: Date, severity: Severity, targets: Targets) =>
  new Date(declaredAt.getTime() + targets[severity] * MINUTE);

export const phaseAt = (row: IncidentRow, phase: Phase): Date | null => row[`${phase}_at`];

export const isOutage = (impact: Impact) => impact === 'partial_outage' || impact === 'major_outage';

/** A partial or major outage that lasted longer than 30 minutes (still going counts from now). */
export function longOutage(row: IncidentRow, now: Date): boolean {
  if (row.kind !== 'incident' || !isOutage(row.impact)) return false;
  const end = row.resolved_at ?? now;
  return end.getTime() - row.started_at.getTime() > REPORT_OUTAGE_MS;
}

export const reportDue = (row: IncidentRow, now: Date) =>
  row.public && row.resolved_at !== null && longOutage(row, now) && row.report_published_at === null;

export type DeadlineKey = 'customers' | 'regulator' | 'report';
export const DEADLINE_LABELS: Record<DeadlineKey, string> = {
  customers: 'Notify affected customers (72 h)',
  regulator: 'Notify the supervisory authority (72 h, GDPR Art. 33)',
  report: 'Full report (7 days)',
};

export interface Deadline {
  key: DeadlineKey;
  label: string;
  due: Date;
  doneAt: Date | null;
  lateReason: string | null;
  /** Not done and past due. */
  overdue: boolean;
  /** Done after it was due. */
  late: boolean;
}

/** The deadlines of a personal-data breach, counted from when the controller became aware. */
export function deadlines(row: IncidentRow, now: Date): Deadline[] {
  if (!row.breach || !row.aware_at) return [];
  const aware = row.aware_at.getTime();
  const make = (key: DeadlineKey, ms: number, doneAt: Date | null, lateReason: string | null): Deadline => {
    const due = new Date(aware + ms);
    return {
      key,
      label: DEADLINE_LABELS[key],
      due,
      doneAt,
      lateReason,
      overdue: doneAt === null && now.getTime() > due.getTime(),
      late: doneAt !== null && doneAt.getTime() > due.getTime(),
    };
  };
  const list = [make('customers', NOTIFY_WITHIN_MS, row.customers_notified_at, row.customers_late_reason)];
  if (row.regulator_required)
    list.push(make('regulator', NOTIFY_WITHIN_MS, row.regulator_notified_at, row.regulator_late_reason));
  list.push(make('report', REPORT_WITHIN_MS, row.full_report_at, row.full_report_late_reason));
  return list;
}

/** The first response is overdue: none yet and the target has passed. */
export const responseOverdue = (row: IncidentRow, now: Date) =>
  !row.draft &&
  row.closed_at === null &&
  row.responded_at === null &&
  row.respond_by !== null &&
  now.getTime() > row.respond_by.getTime();

export function toPublic(row: IncidentRow, updates: UpdateRow[], now: Date): PublicIncident {
  return {
    id: row.id,
    title: row.title,
    severity: row.severity,
    kind: row.kind,
    impact: row.impact,
    components: [...row.components],
    phase: row.phase,
    startedAt: row.started_at,
    resolvedAt: row.resolved_at,
    scheduledStart: row.scheduled_start,
    scheduledEnd: row.scheduled_end,
    updates: updates
      .filter((u) => u.public)
      .sort((a, b) => b.at.getTime() - a.at.getTime())
      .map((u) => ({ at: u.at, phase: u.phase, message: u.message })),
    report:
      row.report_published_at && row.report_body
        ? { publishedAt: row.report_published_at, body: row.report_body }
        : null,
    reportDue: reportDue(row, now),
  };
}

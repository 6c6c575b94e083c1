import type { OperatorPage } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import type { DisclosureStatus, DisclosureTimelineTable } from '../platform/db/tables.js';
import { Field, Form, type FormState, FormMessage, SelectField } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import { StatusBadge, TextArea } from './pages.js';
import { type DeadlineState, deadlineState, type Report, STATUS_LABELS, TRANSITIONS } from './service.js';

/* X3 on the operator console: the reports with their deadline state, and one report with its timeline. */

const DEADLINE_LABELS: Record<DeadlineState, string> = {
  met: 'Acknowledged in time',
  late: 'Acknowledged late',
  pending: 'Due',
  missed: 'Missed',
};

function Deadline({ report, now }: { report: Report; now: Date }) {
  const state = deadlineState(report, now);
  return (
    <span class={`deadline deadline-${state}`}>
      <strong>{DEADLINE_LABELS[state]}</strong>
      {state !== 'met' && (
        <>
          {' '}
          (<Time at={report.ack_due_at} />)
        </>
      )}
    </span>
  );
}

export function ReportsPage({
  pages,
  reports,
  now,
  ackDays,
  csrf,
  state,
  notice,
}: {
  pages: readonly OperatorPage[];
  reports: readonly Report[];
  now: Date;
  ackDays: number;
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const missed = reports.filter((r) => deadlineState(r, now) === 'missed').length;
  return (
    <OperatorShell pages={pages} current="/operator/disclosure" heading="Vulnerability reports">
      <Notice text={notice} />
      {missed > 0 && (
        <p role="alert" class="form-message">
          {missed} {missed === 1 ? 'report is' : 'reports are'} past the acknowledgement deadline unacknowledged.
        </p>
      )}
      {reports.length === 0 ? (
        <p>No reports yet. The public form is at /security/report.</p>
      ) : (
        <Table columns={['Reference', 'Summary', 'Status', 'Received', 'Acknowledgement']}>
          {reports.map((r) => (
            <tr>
              <td>
                <a href={`/operator/disclosure/${r.id}`}>{r.reference}</a>
              </td>
              <td>{r.summary}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>
                <Time at={r.received_at} />
              </td>
              <td>
                <Deadline report={r} now={now} />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Acknowledgement deadline</h2>
      <p>
        Counted in business days (Monday to Friday, UTC; public holidays are not known), from the time a report arrives.
        A change applies to reports that arrive afterwards.
      </p>
      <Form action="/operator/disclosure/settings" csrf={csrf} label="Acknowledgement deadline">
        <FormMessage state={state} />
        <Field
          name="ackBusinessDays"
          label="Business days to acknowledge a report"
          type="number"
          hint="From 1 to 30."
          state={state}
          value={state?.values?.ackBusinessDays ?? String(ackDays)}
        />
        <button type="submit">Save</button>
      </Form>
    </OperatorShell>
  );
}

type TimelineEntry = {
  id: string;
  at: Date;
  actor: string;
  kind: DisclosureTimelineTable['kind'];
  status: DisclosureStatus | null;
  note: string | null;
};

export function ReportPage({
  pages,
  report,
  timeline,
  now,
  csrf,
  state,
  notice,
}: {
  pages: readonly OperatorPage[];
  report: Report;
  timeline: readonly TimelineEntry[];
  now: Date;
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const next = TRANSITIONS[report.status];
  return (
    <OperatorShell pages={pages} current="/operator/disclosure" heading={`Report ${report.reference}`}>
      <Notice text={notice} />
      <p>
        <a href="/operator/disclosure">All reports</a>
      </p>
      <dl class="report-facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={report.status} />
        </dd>
        <dt>Acknowledgement</dt>
        <dd>
          <Deadline report={report} now={now} />
        </dd>
        <dt>Summary</dt>
        <dd>{report.summary}</dd>
        <dt>Affected</dt>
        <dd>{report.affected ?? 'Not given'}</dd>
        <dt>Reporter</dt>
        <dd>
          {report.reporter_name ? `${report.reporter_name} ` : ''}&lt;{report.reporter_email}&gt;
        </dd>
        <dt>Credit</dt>
        <dd>{report.credit_name ? `Asked to be credited as “${report.credit_name}”` : 'Not asked'}</dd>
      </dl>
      <h2>Details</h2>
      {/* The reporter's text as written, line by line (Preact escapes it); wrapped, unlike a <pre>. */}
      {report.details.split(/\n{2,}/).map((para) => (
        <p class="report-details">
          {para.split('\n').map((line, i) => (
            <>
              {i > 0 && <br />}
              {line}
            </>
          ))}
        </p>
      ))}

      <h2>Change the status</h2>
      <Form action={`/operator/disclosure/${report.id}/status`} csrf={csrf} label="Change the status">
        <FormMessage state={state} />
        <SelectField
          name="status"
          label="New status"
          options={next.map((s) => ({ value: s, label: STATUS_LABELS[s] }))}
          state={state}
          hint={report.status === 'new' ? 'Acknowledging mails the reporter.' : 'The reporter is mailed the change.'}
        />
        <button type="submit">{report.status === 'new' ? 'Save and mail the reporter' : 'Save'}</button>
      </Form>

      <h2>Add a note</h2>
      <Form action={`/operator/disclosure/${report.id}/notes`} csrf={csrf} label="Add a note">
        <TextArea
          name="note"
          label="Note"
          hint="For the console only; the reporter does not see notes."
          maxLength={4000}
          rows={4}
          state={state}
        />
        <button type="submit" class="secondary">
          Add the note
        </button>
      </Form>

      <h2>Timeline</h2>
      <ol class="timeline">
        {timeline.map((e) => (
          <li>
            <Time at={e.at} /> · {e.actor}:{' '}
            {e.kind === 'received'
              ? 'received'
              : e.kind === 'status'
                ? `status ${STATUS_LABELS[e.status ?? 'new']}`
                : 'note'}
            {e.note && <p class="note">{e.note}</p>}
          </li>
        ))}
      </ol>
    </OperatorShell>
  );
}

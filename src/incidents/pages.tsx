import type { OperatorPage } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import { Field, Form, FormMessage, type FormState, SelectField } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import type { Impact, Severity } from './model.js';
import { deadlines, type IncidentRow, reportDue, responseOverdue, SEVERITIES, type Targets } from './model.js';
import type { Component } from './service.js';

export const SEVERITY_LABELS: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};
export const IMPACT_LABELS: Record<Impact, string> = {
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  maintenance: 'Maintenance',
};
const PHASE_LABELS = {
  identify: 'Identify',
  contain: 'Contain',
  eradicate: 'Eradicate',
  recover: 'Recover',
  review: 'Review',
  closed: 'Closed',
} as const;
export const phaseLabel = (p: keyof typeof PHASE_LABELS) => PHASE_LABELS[p];

const minutes = (m: number) => (m === 0 ? 'immediately' : m % 60 === 0 ? `${m / 60} h` : `${m} min`);

/** What needs the operator now: a missed response target, an overdue breach deadline, a report due. */
export function Flags({ row, now }: { row: IncidentRow; now: Date }) {
  const flags: string[] = [];
  if (row.draft && !row.closed_at) flags.push('Draft: confirm or dismiss');
  if (responseOverdue(row, now)) flags.push('Response overdue');
  for (const d of deadlines(row, now)) if (d.overdue) flags.push(`Overdue: ${d.label}`);
  if (reportDue(row, now)) flags.push('Public report due');
  if (flags.length === 0) return null;
  return (
    <ul class="incident-flags" aria-label="Needs attention">
      {flags.map((f) => (
        <li>
          <mark>{f}</mark>
        </li>
      ))}
    </ul>
  );
}

export function IncidentListPage(p: {
  pages: readonly OperatorPage[];
  incidents: IncidentRow[];
  targets: Targets;
  now: Date;
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const open = p.incidents.filter((r) => !r.closed_at);
  const closed = p.incidents.filter((r) => r.closed_at);
  const rows = (list: IncidentRow[]) =>
    list.map((r) => (
      <tr>
        <td>
          <a href={`/operator/incidents/${r.id}`}>{r.title}</a>
          {r.breach && ' · personal-data breach'}
          {r.kind === 'maintenance' && ' · maintenance'}
          <Flags row={r} now={p.now} />
        </td>
        <td>{SEVERITY_LABELS[r.severity]}</td>
        <td>{phaseLabel(r.phase)}</td>
        <td>{r.draft ? 'Draft' : r.public ? 'Public' : 'Internal'}</td>
        <td>
          <Time at={r.declared_at} />
        </td>
      </tr>
    ));
  const value = (s: Severity) => p.state?.values?.[s] ?? String(p.targets[s]);
  return (
    <OperatorShell pages={p.pages} current="/operator/incidents" heading="Incidents">
      <Notice text={p.notice} />
      <p>
        <a href="/operator/incidents/new" role="button">
          Declare an incident
        </a>
      </p>
      <h2>Open</h2>
      {open.length === 0 ? (
        <p>No open incident.</p>
      ) : (
        <Table columns={['Incident', 'Severity', 'Phase', 'Shown', 'Declared']}>{rows(open)}</Table>
      )}
      <h2>Closed</h2>
      {closed.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <Table columns={['Incident', 'Severity', 'Phase', 'Shown', 'Declared']}>{rows(closed)}</Table>
      )}
      <h2>Response targets</h2>
      <p>
        Time from declaring an incident to its first response (a timeline update or a phase change), by severity:{' '}
        {SEVERITIES.map((s) => `${SEVERITY_LABELS[s].toLowerCase()} ${minutes(p.targets[s])}`).join(', ')}.
      </p>
      <Form action="/operator/incidents/targets" csrf={p.csrf} label="Response targets">
        <FormMessage state={p.state} />
        <div class="grid">
          {SEVERITIES.map((s) => (
            <div>
              <Field
                name={s}
                label={`${SEVERITY_LABELS[s]} (minutes)`}
                type="number"
                state={p.state}
                value={value(s)}
              />
            </div>
          ))}
        </div>
        <button type="submit" class="secondary">
          Save targets
        </button>
      </Form>
    </OperatorShell>
  );
}

const options = <K extends string>(labels: Record<K, string>, keys: readonly K[]) =>
  keys.map((k) => ({ value: k, label: labels[k] }));

export function DeclarePage(p: {
  pages: readonly OperatorPage[];
  components: Component[] | undefined;
  csrf: string;
  state?: FormState;
}) {
  const v = p.state?.values ?? {};
  const chosen = new Set((v.components ?? '').split(',').filter(Boolean));
  const error = (f: string) => p.state?.errors?.find((e) => e.field === f);
  const checkbox = (name: string, label: string, hint?: string) => (
    <label for={`field-${name}`}>
      <input type="checkbox" id={`field-${name}`} name={name} value="on" checked={v[name] === 'on'} /> {label}
      {hint && <small>{hint}</small>}
    </label>
  );
  const componentsError = error('components');
  return (
    <OperatorShell pages={p.pages} current="/operator/incidents" heading="Declare an incident">
      <Form action="/operator/incidents" csrf={p.csrf} label="Declare an incident">
        <FormMessage state={p.state} />
        <Field name="title" label="Title" state={p.state} />
        <SelectField
          name="kind"
          label="Kind"
          options={[
            { value: 'incident', label: 'Incident' },
            { value: 'maintenance', label: 'Scheduled maintenance' },
          ]}
          state={p.state}
          value="incident"
        />
        <SelectField
          name="severity"
          label="Severity"
          options={options(SEVERITY_LABELS, SEVERITIES)}
          state={p.state}
          value="high"
        />
        <SelectField
          name="impact"
          label="Impact on the components"
          options={options(IMPACT_LABELS, ['degraded', 'partial_outage', 'major_outage', 'maintenance'])}
          state={p.state}
          value="degraded"
        />
        <fieldset aria-describedby={componentsError ? 'field-components-error' : undefined}>
          <legend>Affected components</legend>
          {p.components === undefined ? (
            <Field
              name="componentIds"
              label="Component ids"
              hint="Separated by commas. The status page's components are listed here once it is set up."
              state={p.state}
              value={[...chosen].join(', ')}
              required={false}
            />
          ) : p.components.length === 0 ? (
            <p>The status page has no components yet.</p>
          ) : (
            p.components.map((c) => (
              <label for={`component-${c.id}`}>
                <input
                  type="checkbox"
                  id={`component-${c.id}`}
                  name="component"
                  value={c.id}
                  checked={chosen.has(c.id)}
                />{' '}
                {c.name}
              </label>
            ))
          )}
          {componentsError && (
            <small id="field-components-error" class="field-error">
              {componentsError.message}
            </small>
          )}
        </fieldset>
        {checkbox('public', 'Show on the public status page')}
        <Field
          name="startedAt"
          label="Impact began (UTC)"
          type="datetime-local"
          hint="Leave empty for now."
          state={p.state}
          required={false}
        />
        <div class="grid">
          <div>
            <Field
              name="scheduledStart"
              label="Maintenance starts (UTC)"
              type="datetime-local"
              state={p.state}
              required={false}
            />
          </div>
          <div>
            <Field
              name="scheduledEnd"
              label="Maintenance ends (UTC)"
              type="datetime-local"
              state={p.state}
              required={false}
            />
          </div>
        </div>
        <Field
          name="firstUpdate"
          label="First update"
          hint="Optional: what is known now. It counts as the first response."
          state={p.state}
          required={false}
        />
        {checkbox('firstUpdatePublic', 'Publish the first update on the status page')}
        <fieldset>
          <legend>Personal-data breach (GDPR Art. 33)</legend>
          {checkbox('breach', 'This is a personal-data breach')}
          <Field
            name="awareAt"
            label="Became aware at (UTC)"
            type="datetime-local"
            hint="The 72-hour and 7-day deadlines count from here. Leave empty for now."
            state={p.state}
            required={false}
          />
          {checkbox('regulatorRequired', 'The supervisory authority must be notified (a risk to people)')}
          <Field name="facts" label="What happened (facts)" state={p.state} required={false} />
          <Field name="effects" label="Its effects" state={p.state} required={false} />
          <Field name="remedialAction" label="Remedial action taken" state={p.state} required={false} />
        </fieldset>
        <button type="submit">Declare</button>
      </Form>
    </OperatorShell>
  );
}

export interface RegisterEntry {
  id: string;
  title: string;
  awareAt: string;
  facts: string;
  effects: string;
  remedialAction: string;
  regulatorRequired: boolean;
  deadlines: {
    deadline: string;
    due: string;
    doneAt: string | null;
    late: boolean;
    overdue: boolean;
    lateReason: string | null;
  }[];
  affectedOrganizations: { id: string; name: string; notifiedAt: string }[];
}

export function RegisterPage({ pages, entries }: { pages: readonly OperatorPage[]; entries: RegisterEntry[] }) {
  return (
    <OperatorShell pages={pages} current="/operator/incidents/breaches" heading="Breach register">
      <p>
        Every personal-data breach on record (GDPR Art. 33(5)): the facts, effects, remedial action and the
        notifications with when they were made. Export:{' '}
        <a href="/operator/incidents/breaches.csv" download>
          CSV
        </a>
        ,{' '}
        <a href="/operator/incidents/breaches.json" download>
          JSON
        </a>
        .
      </p>
      {entries.length === 0 ? (
        <p>No breach is on record.</p>
      ) : (
        <Table columns={['Breach', 'Aware since', 'Facts, effects, action', 'Notifications', 'Organizations']}>
          {entries.map((e) => (
            <tr>
              <td>
                <a href={`/operator/incidents/${e.id}`}>{e.title}</a>
              </td>
              <td>
                <Time at={new Date(e.awareAt)} />
              </td>
              <td>
                {e.facts || '—'} / {e.effects || '—'} / {e.remedialAction || '—'}
              </td>
              <td>
                <ul>
                  {e.deadlines.map((d) => (
                    <li>
                      {d.deadline}:{' '}
                      {d.doneAt ? <Time at={new Date(d.doneAt)} /> : d.overdue ? <mark>overdue</mark> : 'open'}
                      {d.late && ` (late: ${d.lateReason})`}
                    </li>
                  ))}
                </ul>
              </td>
              <td>{e.affectedOrganizations.map((o) => o.name).join(', ') || '—'}</td>
            </tr>
          ))}
        </Table>
      )}
    </OperatorShell>
  );
}

export function NoticesPage(p: {
  orgId: string;
  orgName: string;
  notices: { title: string; body: string; published_at: Date }[];
}) {
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href="/orgs">Organizations</a>
          </li>
          <li>
            <a href={`/orgs/${p.orgId}`}>{p.orgName}</a>
          </li>
          <li>Security notices</li>
        </ul>
      </nav>
      <h1>Security notices</h1>
      <p>What the operator of this service told {p.orgName} about security incidents that affected it.</p>
      {p.notices.length === 0 ? (
        <p>There is no security notice for this organization.</p>
      ) : (
        p.notices.map((n) => (
          <article>
            <header>
              <h2>{n.title}</h2>
              <Time at={n.published_at} />
            </header>
            <p class="preformatted">{n.body}</p>
          </article>
        ))
      )}
    </>
  );
}

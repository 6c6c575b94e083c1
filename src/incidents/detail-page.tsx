import type { Selectable } from 'kysely';
import type { OperatorPage } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import type { IncidentAffectedOrgsTable } from '../platform/db/tables.js';
import { ActionButton, Field, Form, FormMessage, type FormState, SelectField } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import { deadlines, type IncidentRow, PHASES, phaseAt, type UpdateRow } from './model.js';
import { Flags, IMPACT_LABELS, phaseLabel, SEVERITY_LABELS } from './pages.js';

export type FormName = 'update' | 'phase' | 'resolve' | 'report' | 'notify' | 'details' | `notification-${string}`;

export interface DetailProps {
  pages: readonly OperatorPage[];
  row: IncidentRow;
  updates: UpdateRow[];
  orgs: Selectable<IncidentAffectedOrgsTable>[];
  now: Date;
  csrf: string;
  form?: FormName;
  state?: FormState;
  notice?: string;
}

const Check = ({ name, label, id, checked }: { name: string; label: string; id: string; checked?: boolean }) => (
  <label for={id}>
    <input type="checkbox" id={id} name={name} value="on" checked={checked} /> {label}
  </label>
);

export function IncidentPage(p: DetailProps) {
  const { row } = p;
  const base = `/operator/incidents/${row.id}`;
  const st = (f: FormName) => (p.form === f ? p.state : undefined);
  const open = row.closed_at === null;
  const next = PHASES.slice(PHASES.indexOf(row.phase) + 1);
  return (
    <OperatorShell pages={p.pages} current="/operator/incidents" heading={row.title}>
      <Notice text={p.notice} />
      <Flags row={row} now={p.now} />
      <dl class="incident-facts">
        <dt>Severity</dt>
        <dd>{SEVERITY_LABELS[row.severity]}</dd>
        <dt>Kind and impact</dt>
        <dd>
          {row.kind === 'maintenance' ? 'Scheduled maintenance' : 'Incident'}, {IMPACT_LABELS[row.impact]}
          {row.components.length > 0 && ` on ${row.components.join(', ')}`}
        </dd>
        <dt>Shown</dt>
        <dd>{row.draft ? 'Draft (not public)' : row.public ? 'On the public status page' : 'Internal only'}</dd>
        <dt>Respond by</dt>
        <dd>
          {row.respond_by ? <Time at={row.respond_by} /> : '—'}
          {row.responded_at && (
            <>
              {' '}
              (first response <Time at={row.responded_at} />)
            </>
          )}
        </dd>
        <dt>Impact</dt>
        <dd>
          from <Time at={row.started_at} />
          {row.resolved_at ? (
            <>
              {' '}
              to <Time at={row.resolved_at} />
            </>
          ) : (
            ', ongoing'
          )}
          {row.scheduled_start && row.scheduled_end && (
            <>
              {' '}
              · window <Time at={row.scheduled_start} /> – <Time at={row.scheduled_end} />
            </>
          )}
        </dd>
      </dl>
      <h2>Phases</h2>
      <ol class="incident-phases">
        {PHASES.map((ph) => {
          const at = phaseAt(row, ph);
          return (
            <li aria-current={ph === row.phase ? 'step' : undefined}>
              {phaseLabel(ph)}: {at ? <Time at={at} /> : ph === row.phase ? 'now' : '—'}
            </li>
          );
        })}
      </ol>
      {row.draft && open && (
        <ActionButton action={`${base}/confirm`} csrf={p.csrf} label="Confirm the draft" variant="secondary">
          Confirm and publish
        </ActionButton>
      )}
      {open && (
        <Form action={`${base}/phase`} csrf={p.csrf} label="Move to a later phase">
          <FormMessage state={st('phase')} />
          <SelectField
            name="phase"
            label="Move to phase"
            options={next.map((ph) => ({ value: ph, label: phaseLabel(ph) }))}
            state={st('phase')}
          />
          <Field name="phaseMessage" label="Update (optional)" state={st('phase')} required={false} />
          <Check name="public" id="phase-public" label="Publish the update on the status page" />
          <button type="submit" class="secondary">
            Move
          </button>
        </Form>
      )}
      {row.breach && <BreachSection {...p} />}
      <h2>Timeline</h2>
      {p.updates.length === 0 ? (
        <p>No update yet.</p>
      ) : (
        <Table columns={['When', 'Phase', 'Update', 'Shown', 'By']}>
          {p.updates.map((u) => (
            <tr>
              <td>
                <Time at={u.at} />
              </td>
              <td>{phaseLabel(u.phase)}</td>
              <td>{u.message}</td>
              <td>{u.public ? 'Public' : 'Internal'}</td>
              <td>{u.author}</td>
            </tr>
          ))}
        </Table>
      )}
      {open && (
        <Form action={`${base}/updates`} csrf={p.csrf} label="Add an update">
          <FormMessage state={st('update')} />
          <Field name="message" label="Update" state={st('update')} />
          <Check name="public" id="update-public" label="Publish on the status page" />
          <button type="submit">Add update</button>
        </Form>
      )}
      {open && !row.draft && (
        <Form action={`${base}/resolve`} csrf={p.csrf} label="Service restored">
          <FormMessage state={st('resolve')} />
          <Field
            name="resolvedAt"
            label="Service restored at (UTC)"
            type="datetime-local"
            hint="Leave empty for now."
            state={st('resolve')}
            required={false}
          />
          <button type="submit" class="secondary">
            Record restoration
          </button>
        </Form>
      )}
      {row.public && !row.draft && (
        <>
          <h2>Public report</h2>
          {row.report_published_at && (
            <p>
              Published <Time at={row.report_published_at} />.
            </p>
          )}
          {open && (
            <Form action={`${base}/report`} csrf={p.csrf} label="Public report">
              <FormMessage state={st('report')} />
              <label for="field-body">Report (what happened, the impact, the cause, what changes)</label>
              <textarea id="field-body" name="body" rows={8} maxLength={20000}>
                {st('report')?.values?.body ?? row.report_body ?? ''}
              </textarea>
              <button type="submit" class="secondary">
                Publish report
              </button>
            </Form>
          )}
        </>
      )}
    </OperatorShell>
  );
}

function BreachSection(p: DetailProps) {
  const { row } = p;
  const base = `/operator/incidents/${row.id}`;
  const st = (f: FormName) => (p.form === f ? p.state : undefined);
  const open = row.closed_at === null;
  return (
    <section aria-labelledby="breach-heading">
      <h2 id="breach-heading">Personal-data breach</h2>
      <p>
        Aware since <Time at={row.aware_at!} />.{' '}
        {row.regulator_required
          ? 'The supervisory authority must be notified (GDPR Art. 33).'
          : 'Recorded as not needing a regulator notification.'}
      </p>
      <Table columns={['Deadline', 'Due', 'Done', 'Record']}>
        {deadlines(row, p.now).map((d) => (
          <tr>
            <td>{d.label}</td>
            <td>
              <Time at={d.due} /> {d.overdue && <mark>Overdue</mark>}
            </td>
            <td>
              {d.doneAt ? <Time at={d.doneAt} /> : '—'}
              {d.late && ` late: ${d.lateReason}`}
            </td>
            <td>
              {!d.doneAt && open && (
                <Form action={`${base}/notifications/${d.key}`} csrf={p.csrf} label={`Record: ${d.label}`}>
                  <FormMessage state={st(`notification-${d.key}`)} />
                  <Field
                    name={`notifiedAt-${d.key}`}
                    label="Done at (UTC)"
                    type="datetime-local"
                    hint="Empty: now."
                    state={st(`notification-${d.key}`)}
                    required={false}
                  />
                  <Field
                    name={`lateReason-${d.key}`}
                    label="Reasons for the delay (when late)"
                    state={st(`notification-${d.key}`)}
                    required={false}
                  />
                  <button type="submit" class="secondary">
                    Record
                  </button>
                </Form>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <h3>Affected organizations</h3>
      {p.orgs.length === 0 ? (
        <p>None notified yet.</p>
      ) : (
        <ul>
          {p.orgs.map((o) => (
            <li>
              {o.org_name} ({o.org_id}): notified <Time at={o.notified_at} />, {o.recipients} owner(s) mailed
            </li>
          ))}
        </ul>
      )}
      {open && (
        <Form action={`${base}/notify-orgs`} csrf={p.csrf} label="Notify affected organizations">
          <FormMessage state={st('notify')} />
          <label for="field-orgIds">Organization ids, one a line</label>
          <textarea id="field-orgIds" name="orgIds" rows={3} maxLength={8000}>
            {st('notify')?.values?.orgIds ?? ''}
          </textarea>
          {st('notify')
            ?.errors?.filter((e) => e.field === 'orgIds')
            .map((e) => (
              <small class="field-error">{e.message}</small>
            ))}
          <label for="field-notice">Notice (shown on their Security notices page and mailed to their owners)</label>
          <textarea id="field-notice" name="notice" rows={5} maxLength={5000}>
            {st('notify')?.values?.notice ?? ''}
          </textarea>
          <Field
            name="noticeLateReason"
            label="Reasons for the delay (when past 72 h)"
            state={st('notify')}
            required={false}
          />
          <button type="submit">Notify</button>
        </Form>
      )}
      {open && (
        <Form action={`${base}/breach`} csrf={p.csrf} label="Breach record">
          <FormMessage state={st('details')} />
          <Field
            name="facts"
            label="What happened (facts)"
            value={row.facts ?? ''}
            state={st('details')}
            required={false}
          />
          <Field name="effects" label="Its effects" value={row.effects ?? ''} state={st('details')} required={false} />
          <Field
            name="remedialAction"
            label="Remedial action taken"
            value={row.remedial_action ?? ''}
            state={st('details')}
            required={false}
          />
          <button type="submit" class="secondary">
            Save the record
          </button>
        </Form>
      )}
    </section>
  );
}

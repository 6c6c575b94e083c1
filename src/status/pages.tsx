import { Form, type FormState, FormMessage, SelectField, Field } from '../platform/views/forms.js';
import { Notice, Time } from '../platform/views/format.js';
import { overall } from './feeds.js';
import type { PublicIncident } from './incidents-port.js';
import { isActive, type ShownComponent } from './service.js';
import { STATE_LABEL, type ComponentState } from './states.js';
import { PHASE_LABEL } from './subscribers.js';
import { UPTIME_FORMULA, type UptimeDay } from './uptime.js';
import { UptimeBars, UptimeLegend } from './uptime-bars.js';

const STATE_MARK: Record<ComponentState, string> = {
  operational: '✓',
  degraded: '!',
  partial_outage: '!!',
  major_outage: '✕',
  maintenance: '⚙',
};

const IMPACT_LABEL: Record<PublicIncident['impact'], string> = {
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  maintenance: 'Maintenance',
};

function StateText({ state }: { state: ComponentState }) {
  return (
    <span class={`status-state status-${state}`}>
      <span aria-hidden="true">{STATE_MARK[state]}</span> {STATE_LABEL[state]}
    </span>
  );
}

const incidentHref = (i: PublicIncident) => `/status/incidents/${encodeURIComponent(i.id)}`;

function IncidentSummary({ incident, components }: { incident: PublicIncident; components: ShownComponent[] }) {
  const latest = incident.updates[0];
  const names = components.filter((c) => incident.components.includes(c.id)).map((c) => c.name);
  return (
    <article class={`status-incident status-impact-${incident.impact}`}>
      <h3>
        <a href={incidentHref(incident)}>{incident.title}</a>
      </h3>
      <p>
        <strong>{incident.kind === 'maintenance' ? 'Maintenance' : IMPACT_LABEL[incident.impact]}</strong>
        {names.length > 0 && <> · Affects {names.join(', ')}</>}
        {incident.kind === 'maintenance' && incident.scheduledStart && (
          <>
            {' '}
            · Scheduled <Time at={incident.scheduledStart} />
            {incident.scheduledEnd && (
              <>
                {' '}
                to <Time at={incident.scheduledEnd} />
              </>
            )}
          </>
        )}
      </p>
      {latest && (
        <p>
          <strong>{PHASE_LABEL[latest.phase]}</strong> (<Time at={latest.at} />
          ): {latest.message}
        </p>
      )}
    </article>
  );
}

export interface StatusPageProps {
  productName: string;
  components: ShownComponent[];
  incidents: PublicIncident[];
  uptime: Map<string, UptimeDay[]>;
  now: Date;
  csrf: string;
  state?: FormState;
  notice?: string;
}

export function StatusPage(props: StatusPageProps) {
  const { components, incidents, now } = props;
  const banner = overall(components);
  const current = incidents.filter((i) => isActive(i, now));
  const upcoming = incidents.filter((i) => i.kind === 'maintenance' && !i.resolvedAt && !isActive(i, now));
  const past = incidents.filter((i) => !isActive(i, now) && !upcoming.includes(i));
  return (
    <>
      <h1>{props.productName} status</h1>
      <Notice text={props.notice} />
      <p class={`status-banner status-indicator-${banner.indicator}`} role="status">
        <strong>{banner.description}</strong>
        {components.length === 0 && ' (no components are listed yet)'}
      </p>

      {(current.length > 0 || upcoming.length > 0) && (
        <section aria-labelledby="current-heading">
          <h2 id="current-heading">Current incidents and maintenance</h2>
          {[...current, ...upcoming].map((i) => (
            <IncidentSummary incident={i} components={components} />
          ))}
        </section>
      )}

      <section aria-labelledby="components-heading">
        <h2 id="components-heading">Components</h2>
        {components.map((c) => (
          <article class="status-component" id={`component-${c.id}`}>
            <header class="status-component-head">
              <h3>{c.name}</h3>
              <StateText state={c.state} />
            </header>
            {c.description && <p>{c.description}</p>}
            <UptimeBars name={c.name} days={props.uptime.get(c.id) ?? []} />
          </article>
        ))}
        {components.length > 0 && <UptimeLegend />}
        <p class="status-formula">
          <small>
            How uptime is computed, per component and UTC day: <code>{UPTIME_FORMULA}</code>. Degraded performance
            counts as up; minutes of announced maintenance are left out. A day without observed minutes (before the
            component was listed, or while nothing observed it) is shown as no data, never as up.
          </small>
        </p>
      </section>

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Incident history (last 90 days)</h2>
        {past.length === 0 ? (
          <p>No incidents in the last 90 days.</p>
        ) : (
          <ul class="status-history">
            {past.map((i) => (
              <li>
                <a href={incidentHref(i)}>{i.title}</a> ·{' '}
                {i.kind === 'maintenance' ? 'Maintenance' : IMPACT_LABEL[i.impact]} · <Time at={i.startedAt} />
                {i.resolvedAt && (
                  <>
                    {' '}
                    to <Time at={i.resolvedAt} />
                  </>
                )}
                {i.report && ' · Report published'}
                {i.reportDue && <strong class="status-report-due"> · Report due</strong>}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="subscribe-heading">
        <h2 id="subscribe-heading">Get updates</h2>
        <p>
          Subscribe by e-mail, or follow the <a href="/status/feed.atom">Atom feed</a>. Machines can read{' '}
          <a href="/status/summary.json">summary.json</a> (the Statuspage format).
        </p>
        <Form action="/status/subscribe" csrf={props.csrf} label="Subscribe to status updates">
          <FormMessage state={props.state} />
          <Field name="email" label="E-mail address" type="email" autocomplete="email" state={props.state} />
          <SelectField
            name="component"
            label="Updates about"
            state={props.state}
            value="all"
            options={[
              { value: 'all', label: 'All components' },
              ...components.map((c) => ({ value: c.id, label: c.name })),
            ]}
          />
          <button type="submit">Subscribe</button>
        </Form>
      </section>
    </>
  );
}

function Paragraphs({ text }: { text: string }) {
  return (
    <>
      {text
        .split(/\n\s*\n/)
        .filter((p) => p.trim())
        .map((p) => (
          <p class="status-text">{p}</p>
        ))}
    </>
  );
}

export function IncidentPage({ incident, components }: { incident: PublicIncident; components: ShownComponent[] }) {
  const names = incident.components.map((id) => components.find((c) => c.id === id)?.name ?? id);
  return (
    <>
      <p>
        <a href="/status">← Status</a>
      </p>
      <h1>{incident.title}</h1>
      <dl class="status-facts">
        <dt>Kind</dt>
        <dd>{incident.kind === 'maintenance' ? 'Maintenance' : 'Incident'}</dd>
        <dt>Impact</dt>
        <dd>{IMPACT_LABEL[incident.impact]}</dd>
        <dt>Affected components</dt>
        <dd>{names.length ? names.join(', ') : 'None listed'}</dd>
        <dt>Started</dt>
        <dd>
          <Time at={incident.startedAt} />
        </dd>
        <dt>Resolved</dt>
        <dd>{incident.resolvedAt ? <Time at={incident.resolvedAt} /> : 'Not yet'}</dd>
      </dl>
      <section aria-labelledby="updates-heading">
        <h2 id="updates-heading">Updates</h2>
        {incident.updates.length === 0 ? (
          <p>No updates yet.</p>
        ) : (
          <ol class="status-updates" reversed>
            {incident.updates.map((u) => (
              <li>
                <strong>{PHASE_LABEL[u.phase]}</strong> · <Time at={u.at} />
                <Paragraphs text={u.message} />
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="report-heading">
        <h2 id="report-heading">Report</h2>
        {incident.report ? (
          <>
            <p>
              Published <Time at={incident.report.publishedAt} />.
            </p>
            <Paragraphs text={incident.report.body} />
          </>
        ) : incident.reportDue ? (
          <p class="status-report-due" role="status">
            <strong>Report due.</strong> This outage lasted longer than 30 minutes; its written report is owed and not
            yet published.
          </p>
        ) : (
          <p>No written report for this {incident.kind === 'maintenance' ? 'maintenance' : 'incident'}.</p>
        )}
      </section>
    </>
  );
}

export function SubscribeSentPage() {
  return (
    <article>
      <h1>Check your inbox</h1>
      <p>
        If the address can receive mail, a confirmation link is on its way. Nothing is sent to it until the link is
        followed; it works for 24 hours.
      </p>
      <p>
        <a href="/status">Back to the status page</a>
      </p>
    </article>
  );
}

/** A link from a mail lands here first: mail scanners follow links, so only the button acts. */
export function TokenActionPage(props: {
  heading: string;
  text: string;
  action: string;
  token: string;
  button: string;
  csrf: string;
}) {
  return (
    <article>
      <h1>{props.heading}</h1>
      <p>{props.text}</p>
      <Form action={props.action} csrf={props.csrf} label={props.heading}>
        <input type="hidden" name="token" value={props.token} />
        <button type="submit">{props.button}</button>
      </Form>
    </article>
  );
}

export function DonePage({ heading, text }: { heading: string; text: string }) {
  return (
    <article>
      <h1>{heading}</h1>
      <p>{text}</p>
      <p>
        <a href="/status">Back to the status page</a>
      </p>
    </article>
  );
}

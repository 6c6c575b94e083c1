import type { OperatorPage } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import { ActionButton, Field, Form, type FormState, FormMessage, SelectField } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import type { Probe } from './probes.js';
import type { ShownComponent } from './service.js';
import { STATE_LABEL, STATES } from './states.js';

const STATE_OPTIONS = STATES.map((s) => ({ value: s, label: STATE_LABEL[s] }));
const componentHref = (id: string) => `/operator/status/components/${encodeURIComponent(id)}`;

export function StatusConsolePage(props: {
  pages: readonly OperatorPage[];
  components: ShownComponent[];
  probes: Probe[];
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const { components, csrf } = props;
  return (
    <OperatorShell pages={props.pages} current="/operator/status" heading="Status page">
      <Notice text={props.notice} />
      <p>
        The components listed on the public <a href="/status">status page</a>, in this order. A component shows the
        worst of the state you set here and the impacts of open public incidents on it.
      </p>
      {components.length === 0 ? (
        <p>No components yet: add the first one below.</p>
      ) : (
        <Table columns={['Component', 'Id', 'Your state', 'Shown state', 'Probes', 'Order']}>
          {components.map((c, i) => (
            <tr>
              <td>
                <a href={componentHref(c.id)}>{c.name}</a>
              </td>
              <td>
                <code>{c.id}</code>
              </td>
              <td>{STATE_LABEL[c.operatorState]}</td>
              <td>{STATE_LABEL[c.state]}</td>
              <td>{props.probes.filter((p) => p.componentId === c.id).length}</td>
              <td class="status-order">
                {i > 0 && (
                  <ActionButton
                    action={`${componentHref(c.id)}/up`}
                    csrf={csrf}
                    label={`Move ${c.name} up`}
                    buttonLabel={`Up: move ${c.name} up`}
                  >
                    Up
                  </ActionButton>
                )}
                {i < components.length - 1 && (
                  <ActionButton
                    action={`${componentHref(c.id)}/down`}
                    csrf={csrf}
                    label={`Move ${c.name} down`}
                    buttonLabel={`Down: move ${c.name} down`}
                  >
                    Down
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Add a component</h2>
      <Form action="/operator/status/components" csrf={csrf} label="Add a component">
        <FormMessage state={props.state} />
        <Field
          name="id"
          label="Id"
          hint="Lowercase letters, digits and hyphens, like api or sign-in. It is kept in feeds and cannot change."
          state={props.state}
        />
        <Field name="name" label="Name" state={props.state} />
        <Field name="description" label="Description" required={false} state={props.state} />
        <SelectField name="state" label="State" options={STATE_OPTIONS} value="operational" state={props.state} />
        <button type="submit">Add component</button>
      </Form>
      <h2>Probes</h2>
      <p>
        Every minute the <code>status.probes</code> job checks each probe over HTTPS (certificate validated, 10 s
        deadline, 64 KiB answer at most, redirects followed on the same host only) and records the minute for the uptime
        bars. Three failures in a row open a draft incident for you to confirm.
      </p>
      <ActionButton action="/operator/status/probes/run" csrf={csrf} label="Run the probes now">
        Run the probes now
      </ActionButton>
    </OperatorShell>
  );
}

export function ComponentConsolePage(props: {
  pages: readonly OperatorPage[];
  component: ShownComponent;
  probes: Probe[];
  csrf: string;
  state?: FormState;
  probeState?: FormState;
  notice?: string;
}) {
  const { component: c, csrf } = props;
  const href = componentHref(c.id);
  return (
    <OperatorShell pages={props.pages} current="/operator/status" heading={c.name}>
      <Notice text={props.notice} />
      <p>
        <a href="/operator/status">← All components</a> · Id <code>{c.id}</code> · Shown as{' '}
        <strong>{STATE_LABEL[c.state]}</strong> · Listed since <Time at={c.createdAt} />
      </p>
      <Form action={href} csrf={csrf} label="Change the component">
        <FormMessage state={props.state} />
        <Field name="name" label="Name" value={c.name} state={props.state} />
        <Field name="description" label="Description" value={c.description} required={false} state={props.state} />
        <SelectField name="state" label="State" options={STATE_OPTIONS} value={c.operatorState} state={props.state} />
        <button type="submit">Save</button>
      </Form>

      <h2>Probes</h2>
      {props.probes.length === 0 ? (
        <p>No probes: the uptime bars record the state shown.</p>
      ) : (
        <Table columns={['Address', 'Expected', 'Last check', 'Failures in a row']} hiddenColumn="Actions">
          {props.probes.map((p) => (
            <tr>
              <td>
                <code>{p.url}</code>
              </td>
              <td>{p.expectedStatus}</td>
              <td>
                {p.lastCheckedAt ? (
                  <>
                    {p.lastOk ? 'Passed' : 'Failed'} (<Time at={p.lastCheckedAt} />
                    ): {p.lastDetail}
                  </>
                ) : (
                  'Not yet checked'
                )}
              </td>
              <td>{p.failures}</td>
              <td>
                <ActionButton
                  action={`/operator/status/probes/${p.id}/remove`}
                  csrf={csrf}
                  label={`Remove the probe of ${p.url}`}
                  buttonLabel={`Remove probe ${p.url}`}
                >
                  Remove
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <Form action={`${href}/probes`} csrf={csrf} label="Add a probe">
        <FormMessage state={props.probeState} />
        <Field
          name="url"
          label="Address to probe"
          hint="https:// only (plain http:// only to loopback in dev mode)."
          state={props.probeState}
        />
        <Field name="expectedStatus" label="Expected HTTP status" value="200" state={props.probeState} />
        <button type="submit">Add probe</button>
      </Form>

      <h2>Remove</h2>
      <ActionButton
        action={`${href}/remove`}
        csrf={csrf}
        label={`Remove ${c.name}`}
        confirm={`Remove ${c.name} and its uptime history from the status page?`}
        variant="contrast outline"
      >
        Remove this component
      </ActionButton>
    </OperatorShell>
  );
}

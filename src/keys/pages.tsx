import type { OperatorPage } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import type { KeyStatus } from '../platform/keys/rotation.js';
import { ActionButton, Field, Form, type FormState, FormMessage } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import type { KeyOperation } from './service.js';

/* D3 on the operator console: the versions, the instances, the count per version, and the three actions. */

const v = (n: number) => `v${n}`;

function Operation({ op }: { op: KeyOperation }) {
  const pct = op.total === 0 ? (op.state === 'running' ? 0 : 100) : Math.floor((op.done / op.total) * 100);
  return (
    <section aria-label="Last operation">
      <h2>
        {op.kind === 'rotate' ? 'Rotate' : 'Rewrap'}: {op.state}
      </h2>
      {op.kind === 'rewrap' && (
        <p>
          <progress value={op.done} max={Math.max(op.total, 1)} /> {op.done} of {op.total} ({pct}%)
        </p>
      )}
      {op.message && <p>{op.message}</p>}
      <p>
        Started <Time at={op.startedAt} precision="seconds" />
        {op.finishedAt && (
          <>
            , finished <Time at={op.finishedAt} precision="seconds" />
          </>
        )}
        {op.state === 'running' && ' (reload this page for progress)'}
      </p>
    </section>
  );
}

export function KeysPage(props: {
  pages: readonly OperatorPage[];
  status: KeyStatus;
  operation?: KeyOperation;
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const { status: s, csrf } = props;
  const running = props.operation?.state === 'running';
  return (
    <OperatorShell pages={props.pages} current="/operator/keys" heading="Master keys">
      <Notice text={props.notice} />
      <p>
        Keys from{' '}
        {s.source === 'file' ? <code>{s.file}</code> : 'RAMPART_MASTER_KEYS (they cannot change without a restart)'}.
        Versions: {s.held.map(v).join(', ')}. Current: <strong>{v(s.current)}</strong>. Retired:{' '}
        {s.retired.length ? s.retired.map(v).join(', ') : 'none'}.
      </p>
      {props.operation && <Operation op={props.operation} />}
      <h2>Records per key version</h2>
      <Table columns={['Value', 'Records per version']}>
        {Object.entries(s.counts).map(([name, perVersion]) => (
          <tr>
            <td>
              <code>{name}</code>
            </td>
            <td>
              {Object.entries(perVersion)
                .map(([version, n]) => `${version}: ${n}`)
                .join(', ') || 'none'}
            </td>
          </tr>
        ))}
      </Table>
      <h2>Instances seen in the last minute</h2>
      <Table columns={['Instance', 'Holds', 'Seals under', 'Seen']}>
        {s.instances.map((i) => (
          <tr>
            <td>
              <code>{i.instanceId}</code>
            </td>
            <td>{i.versions.map(v).join(', ')}</td>
            <td>{v(i.current)}</td>
            <td>
              <Time at={i.seenAt} precision="seconds" />
            </td>
          </tr>
        ))}
      </Table>
      <h2>Rotate</h2>
      {!running && (
        <>
          <ActionButton
            action="/operator/keys/rotate"
            csrf={csrf}
            label="Rotate the master key"
            confirm="Add a master key version and make it current?"
          >
            Rotate
          </ActionButton>
          <ActionButton action="/operator/keys/rewrap" csrf={csrf} label="Rewrap every sealed value">
            Rewrap
          </ActionButton>
        </>
      )}
      <Form action="/operator/keys/retire" csrf={csrf} label="Retire a master key version">
        <FormMessage state={props.state} />
        <Field name="version" label="Version to retire (e.g. v1)" state={props.state} />
        <button type="submit" class="secondary outline">
          Retire
        </button>
      </Form>
    </OperatorShell>
  );
}

import type { DeploymentSettings } from '../operator/index.js';
import type { DisclosureStatus } from '../platform/db/tables.js';
import { Field, Form, type FormState, FormMessage } from '../platform/views/forms.js';
import { Time } from '../platform/views/format.js';
import { type Report, STATUS_LABELS } from './service.js';

/* X3: the public pages: the report form, what the reporter sees afterwards, the policy and the thanks. */

export const LIMITS = { summary: 200, details: 20000, affected: 500, name: 100 } as const;

export function TextArea(props: {
  name: string;
  label: string;
  state?: FormState;
  value?: string;
  hint?: string;
  maxLength: number;
  rows?: number;
  required?: boolean;
}) {
  const { name, state } = props;
  const id = `field-${name}`;
  const error = state?.errors?.find((e) => e.field === name);
  const described = [error ? `${id}-error` : null, props.hint ? `${id}-hint` : null].filter(Boolean).join(' ');
  const focus = state?.errors?.length ? state.errors[0]!.field === name : undefined;
  return (
    <>
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        name={name}
        rows={props.rows ?? 8}
        maxLength={props.maxLength}
        required={props.required ?? true}
        autofocus={focus}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described || undefined}
      >
        {props.value ?? state?.values?.[name] ?? ''}
      </textarea>
      {props.hint && <small id={`${id}-hint`}>{props.hint}</small>}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error.message}
        </small>
      )}
    </>
  );
}

export function ReportFormPage({
  csrf,
  formToken,
  state,
  productName,
  ackDays,
}: {
  csrf: string;
  formToken: string;
  state?: FormState;
  productName: string;
  ackDays: number;
}) {
  const creditChecked = state?.values?.credit === 'yes';
  return (
    <section class="narrow">
      <h1>Report a security problem</h1>
      <p>
        Found a vulnerability in {productName}? Tell us here, no account needed. We acknowledge each report within{' '}
        {ackDays} business {ackDays === 1 ? 'day' : 'days'} and mail you a tracking reference with a private link to
        follow its status. Please read our <a href="/security/policy">disclosure policy</a> first.
      </p>
      <Form action="/security/report" csrf={csrf} label="Report a security problem">
        <FormMessage state={state} />
        <input type="hidden" name="formToken" value={formToken} />
        <Field
          name="summary"
          label="Summary"
          hint={`One line: what is wrong, and where (up to ${LIMITS.summary} characters).`}
          state={state}
        />
        <TextArea
          name="details"
          label="Details"
          hint="Steps to reproduce, what you saw, and the impact you expect. Up to 20,000 characters."
          maxLength={LIMITS.details}
          rows={10}
          state={state}
        />
        <Field
          name="affected"
          label="Affected area or address"
          hint="The page, API or component (optional)."
          state={state}
          required={false}
        />
        <Field
          name="email"
          label="Your e-mail address"
          type="email"
          autocomplete="email"
          hint="We send the tracking reference and our answers here."
          state={state}
        />
        <Field name="name" label="Your name" autocomplete="name" hint="Optional." state={state} required={false} />
        <fieldset>
          <label for="field-credit">
            <input id="field-credit" type="checkbox" name="credit" value="yes" checked={creditChecked} />
            Credit me on the public thanks page once the problem is resolved
          </label>
        </fieldset>
        <Field
          name="creditName"
          label="Name to credit"
          hint="As it should appear on the thanks page (your name, a handle or a team). Your name is used if empty."
          state={state}
          required={false}
        />
        <div class="visually-hidden" aria-hidden="true">
          <label for="field-website">Leave this field empty</label>
          <input id="field-website" type="text" name="website" tabIndex={-1} autocomplete="off" />
        </div>
        <button type="submit">Send the report</button>
      </Form>
    </section>
  );
}

export function ReportSentPage({ reference }: { reference: string }) {
  return (
    <section class="narrow">
      <h1>Thank you: your report is in</h1>
      <p role="status">
        Your tracking reference is <strong>{reference}</strong>. We mailed it to you with a private link where you can
        follow the report's status.
      </p>
      <p>
        No mail? Check your spam folder; the reference above is enough to quote when you write to the security contact.
      </p>
    </section>
  );
}

export function StatusBadge({ status }: { status: DisclosureStatus }) {
  return <span class={`badge status-${status}`}>{STATUS_LABELS[status]}</span>;
}

export function ReportStatusPage({
  report,
  timeline,
}: {
  report: Report;
  timeline: ReadonlyArray<{ at: Date; kind: string; status: DisclosureStatus | null }>;
}) {
  return (
    <section class="narrow">
      <h1>Security report {report.reference}</h1>
      <p>
        {report.summary}
        <br />
        Status: <StatusBadge status={report.status} />
      </p>
      <p>
        Received <Time at={report.received_at} />.{' '}
        {report.acknowledged_at ? (
          <>
            Acknowledged <Time at={report.acknowledged_at} />.
          </>
        ) : (
          <>
            We will acknowledge it by <Time at={report.ack_due_at} />.
          </>
        )}
      </p>
      <h2>Timeline</h2>
      <ol>
        {timeline.map((e) => (
          <li>
            <Time at={e.at} />: {e.kind === 'received' ? 'Received' : STATUS_LABELS[e.status ?? 'new']}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function PolicyPage({ settings }: { settings: DeploymentSettings }) {
  return (
    <section class="narrow">
      <h1>Vulnerability disclosure policy</h1>
      {settings.policyText ? (
        settings.policyText.split(/\n{2,}/).map((p) => <p>{p}</p>)
      ) : (
        <p>
          {settings.productName} welcomes reports of security problems. Report them through the{' '}
          <a href="/security/report">report form</a>; we acknowledge each report and keep you informed until it is
          resolved.
        </p>
      )}
      <p>
        <a href="/security/report" role="button">
          Report a security problem
        </a>
      </p>
    </section>
  );
}

export function ThanksPage({
  productName,
  names,
}: {
  productName: string;
  names: ReadonlyArray<{ credit_name: string | null; resolved_at: Date | null }>;
}) {
  return (
    <section class="narrow">
      <h1>Thanks</h1>
      <p>People who reported security problems in {productName} that are now resolved, and asked to be credited.</p>
      {names.length === 0 ? (
        <p>No one yet.</p>
      ) : (
        <ul>
          {names.map((n) => (
            <li>
              {n.credit_name}
              {n.resolved_at && (
                <>
                  {' '}
                  (<Time at={n.resolved_at} short />)
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

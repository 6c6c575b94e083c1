import type { ComponentChildren } from 'preact';
import type { OperatorPage } from '../feature.js';
import { Field, Form, type FormState, FormMessage } from '../platform/views/forms.js';
import { Notice, Time } from '../platform/views/format.js';
import type { DeploymentSettings } from './console.js';

/**
 * The frame of every operator console page: the console's own navigation (the pages features add),
 * with the current one marked. Features render their operator pages inside it.
 */
export function OperatorShell({
  pages,
  current,
  heading,
  children,
}: {
  pages: readonly OperatorPage[];
  current: string;
  heading: string;
  children: ComponentChildren;
}) {
  return (
    <>
      <nav aria-label="Operator console" class="operator-nav">
        <ul>
          {[{ path: '/operator', label: 'Console' }, ...pages].map((p) => (
            <li>
              <a href={p.path} aria-current={p.path === current ? 'page' : undefined}>
                {p.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <h1>{heading}</h1>
      {children}
    </>
  );
}

export function ConsoleHomePage({ pages, operator }: { pages: readonly OperatorPage[]; operator: string }) {
  return (
    <OperatorShell pages={pages} current="/operator" heading="Operator console">
      <p>
        Signed in as {operator}. Everything you change here is written to the system audit stream (
        <code>rampart audit verify --stream system</code>).
      </p>
      <ul>
        {pages.map((p) => (
          <li>
            <a href={p.path}>{p.label}</a>
          </li>
        ))}
      </ul>
    </OperatorShell>
  );
}

export function SettingsPage({
  pages,
  settings,
  csrf,
  state,
  notice,
}: {
  pages: readonly OperatorPage[];
  settings: DeploymentSettings;
  csrf: string;
  state?: FormState;
  notice?: string;
}) {
  const value = (name: keyof DeploymentSettings) => {
    const v = state?.values?.[name] ?? settings[name];
    return typeof v === 'string' ? v : '';
  };
  const policyError = state?.errors?.find((e) => e.field === 'policyText');
  return (
    <OperatorShell pages={pages} current="/operator/settings" heading="Product and security contact">
      <Notice text={notice} />
      <p>
        What the trust page, the status page and security.txt say around what Rampart checks. The statuses themselves
        are computed, never set here.
        {settings.updatedAt && (
          <>
            {' '}
            Last changed <Time at={settings.updatedAt} />.
          </>
        )}
      </p>
      <Form action="/operator/settings" csrf={csrf} label="Product and security contact">
        <FormMessage state={state} />
        <Field name="productName" label="Product name" state={state} value={value('productName')} />
        <Field
          name="securityContact"
          label="Security contact"
          hint="An e-mail address or an https:// address where people report vulnerabilities (security.txt Contact)."
          state={state}
          value={value('securityContact')}
          required={false}
        />
        <Field
          name="policyUrl"
          label="Disclosure policy address"
          hint="Optional https:// address of your policy; without it the text below is published at /security/policy."
          state={state}
          value={value('policyUrl')}
          required={false}
        />
        <label for="field-policyText">Disclosure policy</label>
        <textarea
          id="field-policyText"
          name="policyText"
          rows={8}
          maxLength={4000}
          aria-invalid={policyError ? 'true' : undefined}
          aria-describedby={policyError ? 'field-policyText-error' : undefined}
        >
          {value('policyText')}
        </textarea>
        {policyError && (
          <small id="field-policyText-error" class="field-error">
            {policyError.message}
          </small>
        )}
        <Field
          name="preferredLanguages"
          label="Languages you read reports in"
          hint='Language tags separated by commas, like "en, de".'
          state={state}
          value={value('preferredLanguages')}
        />
        <button type="submit">Save</button>
      </Form>
    </OperatorShell>
  );
}

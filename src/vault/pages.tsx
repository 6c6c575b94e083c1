import type { OperatorPage, OrgTab } from '../feature.js';
import { OperatorShell } from '../operator/index.js';
import { can, type Org, OrgHeader } from '../orgs/index.js';
import { ActionButton, Field, Form, FormMessage, type FormState, SelectField } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import type { ProviderView } from './providers.js';
import type { ConnectionView } from './service.js';

const STATUS_LABELS: Record<ConnectionView['status'], string> = {
  unchecked: 'Not checked',
  valid: 'VALID',
  invalid: 'INVALID',
  revoked: 'REVOKED',
  refresh_failed: 'REFRESH FAILED',
  error: 'CHECK FAILED',
};

export interface ConnectionsPageProps {
  csrf: string;
  org: Org;
  tabs: readonly OrgTab[];
  connections: ConnectionView[];
  providers: ProviderView[];
  notice?: string;
  tableState?: FormState;
  createState?: FormState;
  /** The connection whose replace form came back with errors, and its state. */
  replace?: { id: string; state: FormState };
}

/** D1: an organization's connections. A key is a password field once, then only its mask and fingerprint. */
export function ConnectionsPage(props: ConnectionsPageProps) {
  const { csrf, org, tabs, connections, providers, notice, tableState, createState, replace } = props;
  const manage = can(org.role, 'connections.manage');
  const byId = new Map(providers.map((p) => [p.id, p]));
  const pasteable = providers.filter((p) => p.kind === 'api_key');
  const oauth = providers.filter((p) => p.kind === 'oauth');
  return (
    <div class="org-page">
      <OrgHeader org={org} tabs={tabs} here="/connections" />
      <Notice text={notice} />
      <section aria-labelledby="connections-heading">
        <h2 id="connections-heading">Connections</h2>
        <p>
          Keys to other services, sealed under this organization's own key. They are sent only to their provider's
          hosts, and never shown again: you see a mask and a fingerprint that tells two keys apart.
        </p>
        <FormMessage state={tableState} />
        {connections.length === 0 ? (
          <p>No connections.</p>
        ) : (
          <Table columns={['Provider', 'Label', 'Key', 'Status', 'Checked']} hiddenColumn={manage && 'Actions'}>
            {connections.map((c) => (
              <tr>
                <td>{byId.get(c.providerId)?.name ?? c.providerId}</td>
                <td>{c.label}</td>
                <td>
                  <code>{c.mask}</code> <small class="by">fingerprint {c.fingerprint}</small>
                </td>
                <td>
                  <strong>{STATUS_LABELS[c.status]}</strong>
                  {c.statusDetail && <small class="by"> {c.statusDetail}</small>}
                </td>
                <td>{c.checkedAt ? <Time at={c.checkedAt} /> : 'Never'}</td>
                {manage && (
                  <td>
                    <ActionButton
                      action={`/orgs/${org.id}/connections/${c.id}/check`}
                      csrf={csrf}
                      label={`Check connection ${c.label}`}
                      buttonLabel={`Check now: ${c.label}`}
                    >
                      Check now
                    </ActionButton>
                    {c.kind === 'api_key' && (
                      <details open={replace?.id === c.id}>
                        <summary>Replace key</summary>
                        <FormMessage state={replace?.id === c.id ? replace.state : undefined} />
                        <Form
                          action={`/orgs/${org.id}/connections/${c.id}/secret`}
                          csrf={csrf}
                          label={`Replace the key of ${c.label}`}
                        >
                          <ReplaceFields
                            id={c.id}
                            basic={byId.get(c.providerId)?.authStyle === 'basic'}
                            state={replace?.id === c.id ? replace.state : undefined}
                          />
                          <button type="submit">Replace key</button>
                        </Form>
                      </details>
                    )}
                    <ActionButton
                      action={`/orgs/${org.id}/connections/${c.id}/delete`}
                      csrf={csrf}
                      label={`Delete connection ${c.label}`}
                      confirm={`Delete the connection ${c.label}? Its key is gone at once; anything using it stops.`}
                      buttonLabel={`Delete connection ${c.label}`}
                      variant="contrast outline"
                    >
                      Delete
                    </ActionButton>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
      </section>
      {manage && (
        <section aria-labelledby="add-connection-heading">
          <h2 id="add-connection-heading">Add a connection</h2>
          {pasteable.length === 0 ? (
            <p>The operator of this deployment has not configured any provider that takes a key yet.</p>
          ) : (
            <>
              <FormMessage state={createState} />
              <Form action={`/orgs/${org.id}/connections`} csrf={csrf} label="Add connection">
                <SelectField
                  name="providerId"
                  label="Provider"
                  options={pasteable.map((p) => ({
                    value: p.id,
                    label: `${p.name}${p.authStyle === 'basic' ? ' (username and password)' : ''}`,
                  }))}
                  state={createState}
                />
                <Field
                  name="label"
                  label="Label"
                  autocomplete="off"
                  hint="What it is for, e.g. “production account”."
                  state={createState}
                />
                <Field
                  name="username"
                  label="Username"
                  autocomplete="off"
                  required={false}
                  hint="Only for providers that take a username and password."
                  state={createState}
                />
                <Field
                  name="secret"
                  label="Key or password"
                  type="password"
                  autocomplete="new-password"
                  hint="Checked with the provider when you save; never shown again."
                  state={createState}
                />
                <button type="submit">Add connection</button>
              </Form>
            </>
          )}
        </section>
      )}
      {manage && oauth.length > 0 && (
        <section aria-labelledby="oauth-connection-heading">
          <h2 id="oauth-connection-heading">Connect through OAuth</h2>
          <p>You sign in at the provider and grant access there: Rampart never sees your password there.</p>
          <Form action={`/orgs/${org.id}/connections/oauth/start`} csrf={csrf} label="Connect through OAuth">
            <label for="oauth-provider">
              Provider
              <select id="oauth-provider" name="providerId" required>
                {oauth.map((p) => (
                  <option value={p.id}>{p.name}</option>
                ))}
              </select>
            </label>
            <label for="oauth-label">Label</label>
            <input id="oauth-label" name="label" type="text" autocomplete="off" required maxLength={80} />
            <button type="submit">Connect</button>
          </Form>
        </section>
      )}
    </div>
  );
}

/** The replace form of one row: its own field ids (every row has one, beside the add form). */
function ReplaceFields({ id, basic, state }: { id: string; basic: boolean; state?: FormState }) {
  const errorOf = (field: string) => state?.errors?.find((e) => e.field === field)?.message;
  const field = (name: string, label: string, type: 'text' | 'password') => {
    const error = errorOf(name);
    const fid = `replace-${name}-${id}`;
    return (
      <>
        <label for={fid}>{label}</label>
        <input
          id={fid}
          name={name}
          type={type as 'text'}
          autocomplete={type === 'password' ? 'new-password' : 'off'}
          required
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? `${fid}-error` : undefined}
        />
        {error && (
          <small id={`${fid}-error`} class="field-error">
            {error}
          </small>
        )}
      </>
    );
  };
  return (
    <>
      {basic && field('username', 'Username', 'text')}
      {field('secret', basic ? 'Password' : 'New key', 'password')}
    </>
  );
}

const AUTH_STYLES = [
  { value: 'bearer', label: 'Bearer header (Authorization: Bearer …)' },
  { value: 'basic', label: 'Basic auth (username and password)' },
  { value: 'header', label: 'Custom header (name below)' },
  { value: 'query', label: 'Query parameter (name below)' },
];

export interface ProvidersPageProps {
  pages: readonly OperatorPage[];
  csrf: string;
  providers: ProviderView[];
  notice?: string;
  state?: FormState;
  tableState?: FormState;
  /** The provider being changed (its values fill the form). */
  editing?: ProviderView;
}

export const providerFormValues = (p: ProviderView): Record<string, string> => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  allowedHosts: p.allowedHosts.join('\n'),
  authStyle: p.authStyle,
  authName: p.authName ?? '',
  validationMethod: p.validation?.method ?? '',
  validationPath: p.validation?.path ?? '',
  authorizationEndpoint: p.oauth?.authorizationEndpoint ?? '',
  tokenEndpoint: p.oauth?.tokenEndpoint ?? '',
  revocationEndpoint: p.oauth?.revocationEndpoint ?? '',
  clientId: p.oauth?.clientId ?? '',
  scopes: p.oauth?.scopes ?? '',
});

/** The operator's registry of providers: where customers' keys may be sent, and how. */
export function ProvidersPage({ pages, csrf, providers, notice, state, tableState, editing }: ProvidersPageProps) {
  const values = state?.values ?? (editing ? providerFormValues(editing) : { kind: 'api_key', authStyle: 'bearer' });
  const filled: FormState = { ...state, values };
  const hostsError = state?.errors?.find((e) => e.field === 'allowedHosts');
  return (
    <OperatorShell pages={pages} current="/operator/connections" heading="Connection providers">
      <Notice text={notice} />
      <p>
        Organizations connect to these services with their own keys. A key is only ever sent to its provider's hosts,
        over HTTPS, to public addresses.
      </p>
      <FormMessage state={tableState} />
      {providers.length === 0 ? (
        <p>No providers yet.</p>
      ) : (
        <Table columns={['Id', 'Name', 'Kind', 'Hosts', 'Auth', 'Check']} hiddenColumn="Actions">
          {providers.map((p) => (
            <tr>
              <td>
                <code>{p.id}</code>
              </td>
              <td>{p.name}</td>
              <td>{p.kind === 'oauth' ? 'OAuth' : 'API key'}</td>
              <td>{p.allowedHosts.join(', ')}</td>
              <td>
                {p.authStyle}
                {p.authName ? ` ${p.authName}` : ''}
              </td>
              <td>{p.validation ? `${p.validation.method} ${p.validation.path}` : 'none'}</td>
              <td>
                <a href={`/operator/connections?edit=${encodeURIComponent(p.id)}#provider-form`}>Change</a>
                <ActionButton
                  action={`/operator/connections/${encodeURIComponent(p.id)}/remove`}
                  csrf={csrf}
                  label={`Remove provider ${p.name}`}
                  confirm={`Remove the provider ${p.name}?`}
                  buttonLabel={`Remove provider ${p.name}`}
                >
                  Remove
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <section aria-labelledby="provider-form-heading" id="provider-form">
        <h2 id="provider-form-heading">{editing ? `Change ${editing.name}` : 'Add a provider'}</h2>
        <FormMessage state={state} />
        <Form action="/operator/connections" csrf={csrf} label="Save provider">
          <Field name="id" label="Id" hint="Lower-case letters, digits and dashes; fixed once saved." state={filled} />
          <Field name="name" label="Name" state={filled} />
          <SelectField
            name="kind"
            label="Kind"
            options={[
              { value: 'api_key', label: 'API key (pasted by the organization)' },
              { value: 'oauth', label: 'OAuth (authorization code + PKCE)' },
            ]}
            state={filled}
          />
          <label for="field-allowedHosts">Allowed hosts</label>
          <textarea
            id="field-allowedHosts"
            name="allowedHosts"
            rows={3}
            aria-invalid={hostsError ? 'true' : undefined}
            aria-describedby={`field-allowedHosts-hint${hostsError ? ' field-allowedHosts-error' : ''}`}
          >
            {values.allowedHosts ?? ''}
          </textarea>
          <small id="field-allowedHosts-hint">
            One per line: exact host names (api.example.com), no scheme, no wildcard, no private address.
          </small>
          {hostsError && (
            <small id="field-allowedHosts-error" class="field-error">
              {state!
                .errors!.filter((e) => e.field === 'allowedHosts')
                .map((e) => e.message)
                .join('; ')}
            </small>
          )}
          <SelectField name="authStyle" label="How the key is sent" options={AUTH_STYLES} state={filled} />
          <Field name="authName" label="Header or parameter name" required={false} state={filled} />
          <SelectField
            name="validationMethod"
            label="Validation request"
            options={[{ value: '', label: 'None' }, ...['GET', 'HEAD', 'POST'].map((m) => ({ value: m, label: m }))]}
            state={filled}
          />
          <Field
            name="validationPath"
            label="Validation path"
            required={false}
            hint="e.g. /v1/me on the first host: 2xx valid, 401/403 invalid."
            state={filled}
          />
          <fieldset>
            <legend>OAuth (OAuth providers only)</legend>
            <Field name="authorizationEndpoint" label="Authorization endpoint" required={false} state={filled} />
            <Field name="tokenEndpoint" label="Token endpoint" required={false} state={filled} />
            <Field name="revocationEndpoint" label="Revocation endpoint" required={false} state={filled} />
            <Field name="clientId" label="Client id" required={false} state={filled} />
            <Field
              name="clientSecret"
              label="Client secret"
              type="password"
              autocomplete="new-password"
              required={false}
              hint={
                editing?.oauth?.hasClientSecret
                  ? 'A secret is set; leave empty to keep it.'
                  : 'Sealed; never shown again.'
              }
              state={filled}
            />
            <Field name="scopes" label="Scopes" required={false} state={filled} />
          </fieldset>
          <button type="submit">Save provider</button>
        </Form>
      </section>
    </OperatorShell>
  );
}

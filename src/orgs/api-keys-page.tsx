import type { OrgTab } from '../feature.js';
import { ActionButton, Field, Form, FormMessage, type FormState } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import type { ApiKeyInfo } from './api-keys.js';
import { OrgHeader } from './page-parts.js';
import { can, describePermission, type Permission, permissions } from './permissions.js';
import type { Org } from './service.js';

export interface ApiKeysPageProps {
  csrf: string;
  org: Org;
  tabs: readonly OrgTab[];
  keys: ApiKeyInfo[];
  notice?: string;
  tableState?: FormState;
  createState?: FormState;
  /** Scopes ticked in a create form that came back with errors. */
  checked?: Permission[];
  /** A key just created: its only appearance, ever. */
  created?: { key: string; info: ApiKeyInfo };
}

export function ApiKeysPage({
  csrf,
  org,
  tabs,
  keys,
  notice,
  tableState,
  createState,
  checked = [],
  created,
}: ApiKeysPageProps) {
  const scopes = permissions().filter((p) => can(org.role, p));
  const scopeError = createState?.errors?.find((e) => e.field === 'scopes');
  return (
    <div class="org-page">
      <OrgHeader org={org} tabs={tabs} here="/api-keys" />
      {created && (
        <article class="new-key" aria-labelledby="new-key-heading">
          <h2 id="new-key-heading">Your new API key: {created.info.name}</h2>
          <p role="status">
            <strong>Copy it now: it will not be shown again.</strong> Rampart keeps only a hash of it. If you lose it,
            revoke it and create another.
          </p>
          <label for="new-key">
            API key
            <input
              id="new-key"
              type="text"
              readonly
              value={created.key}
              autocomplete="off"
              spellcheck={false}
              class="secret"
            />
          </label>
          <p>
            <small>
              Send it as <code>Authorization: Bearer …</code>. Scopes: {created.info.scopes.join(', ')}. Expires{' '}
              <Time at={created.info.expiresAt} short />.
            </small>
          </p>
        </article>
      )}
      <Notice text={notice} />

      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys</h2>
        <FormMessage state={tableState} />
        {keys.length === 0 ? (
          <p>No API keys.</p>
        ) : (
          <Table
            columns={['Name', 'Prefix', 'Scopes', 'Created', 'Expires', 'Last used']}
            hiddenColumn={can(org.role, 'api_keys.revoke') && 'Actions'}
          >
            {keys.map((k) => (
              <tr>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>
                  <ul class="scopes">
                    {k.scopes.map((s) => (
                      <li>
                        <code title={describePermission(s)}>{s}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <Time at={k.createdAt} short />
                </td>
                <td>
                  <Time at={k.expiresAt} short />
                </td>
                <td>
                  {k.lastUsedAt ? (
                    <>
                      <Time at={k.lastUsedAt} />
                      {k.lastUsedIp && <small class="by"> from {k.lastUsedIp}</small>}
                    </>
                  ) : (
                    'Never'
                  )}
                </td>
                {can(org.role, 'api_keys.revoke') && (
                  <td>
                    <ActionButton
                      action={`/orgs/${org.id}/api-keys/${k.id}/revoke`}
                      csrf={csrf}
                      label={`Revoke API key ${k.name}`}
                      confirm={`Revoke the key ${k.name}? Anything using it stops working at once.`}
                      buttonLabel={`Revoke API key ${k.name} (${k.prefix})`}
                    >
                      Revoke
                    </ActionButton>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
      </section>

      {can(org.role, 'api_keys.create') && (
        <section aria-labelledby="create-key-heading">
          <h2 id="create-key-heading">Create an API key</h2>
          <p>A key acts for {org.name} with exactly the scopes you tick, never more than your own role allows.</p>
          <FormMessage state={createState} />
          <Form action={`/orgs/${org.id}/api-keys`} csrf={csrf} label="Create API key">
            <Field
              name="name"
              label="Name"
              autocomplete="off"
              hint="What uses it, e.g. “billing backend”."
              state={createState}
            />
            <fieldset>
              <legend>Scopes</legend>
              {scopeError && (
                <small id="field-scopes-error" class="field-error scope-error">
                  {scopeError.message}
                </small>
              )}
              <div class="scope-grid">
                {scopes.map((p) => (
                  <label for={`scope-${p}`}>
                    <input
                      id={`scope-${p}`}
                      type="checkbox"
                      name="scopes"
                      value={p}
                      checked={checked.includes(p)}
                      aria-invalid={scopeError ? 'true' : undefined}
                      aria-describedby={scopeError ? 'field-scopes-error' : undefined}
                    />
                    {describePermission(p)} <code>{p}</code>
                  </label>
                ))}
              </div>
            </fieldset>
            <div class="short-field">
              <Field
                name="expiresInDays"
                label="Expires after (days)"
                type="number"
                hint="1 to 366 days."
                state={createState ?? { values: { expiresInDays: '90' } }}
              />
            </div>
            <button type="submit">Create API key</button>
          </Form>
        </section>
      )}
    </div>
  );
}

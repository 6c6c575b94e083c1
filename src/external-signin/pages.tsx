import { ActionButton } from '../platform/views/forms.js';
import { Table, when } from '../platform/views/format.js';
import type { LinkedIdentity } from './service.js';

/** A7: why a sign-in or a link through an upstream provider did not go through, and what to do next. */
export function ExternalProblemPage({
  message,
  retryHref,
  retryText,
}: {
  message: string;
  retryHref: string;
  retryText: string;
}) {
  return (
    <section class="narrow">
      <h1>Sign-in did not go through</h1>
      <p role="alert">{message}</p>
      <p>
        <a href={retryHref} role="button">
          {retryText}
        </a>
      </p>
    </section>
  );
}

export interface LinkedAccountsProps {
  csrf: string;
  linked: readonly LinkedIdentity[];
  /** Configured providers this account is not linked to yet. */
  linkable: ReadonlyArray<{ id: string; name: string }>;
}

/** A7, on the account security page: the linked accounts at upstream providers, removable; and links to add. */
export function LinkedAccountsSection({ csrf, linked, linkable }: LinkedAccountsProps) {
  if (linked.length === 0 && linkable.length === 0) return null;
  return (
    <section id="linked" aria-labelledby="linked-heading">
      <h2 id="linked-heading">Linked sign-in accounts</h2>
      <p>
        Accounts at other providers that can sign you in here. Adding or removing one asks you to confirm it is you.
      </p>
      {linked.length === 0 ? (
        <p>No linked accounts.</p>
      ) : (
        <Table columns={['Provider', 'Account there', 'Linked', 'Last used']} hiddenColumn="Action">
          {linked.map((l) => (
            <tr>
              <td>{l.providerName}</td>
              <td>{l.email ?? 'no address shared'}</td>
              <td>{when(l.createdAt)}</td>
              <td>{l.lastUsedAt ? when(l.lastUsedAt) : 'never'}</td>
              <td>
                <ActionButton
                  action={`/account/external/${l.id}/remove`}
                  csrf={csrf}
                  label={`Remove the linked ${l.providerName} account`}
                  buttonLabel={`Remove ${l.providerName}`}
                  confirm={`Stop signing in with ${l.providerName}?`}
                >
                  Remove
                </ActionButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {linkable.map((p) => (
        <ActionButton
          action={`/account/external/${encodeURIComponent(p.id)}/link`}
          csrf={csrf}
          label={`Link a ${p.name} account`}
          variant="secondary"
        >
          Link {p.name}
        </ActionButton>
      ))}
    </section>
  );
}

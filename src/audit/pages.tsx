import { ActionButton } from '../platform/views/forms.js';
import { Table, when } from '../platform/views/format.js';
import type { StoredEvent, ChainVerdict } from '../platform/audit/events.js';

export interface AuditPageProps {
  orgId: string;
  orgName: string;
  csrf: string;
  events: StoredEvent[];
  filter: { actor?: string; action?: string; from?: string; to?: string };
  next: number | null;
  canExport: boolean;
  verdict?: ChainVerdict;
  error?: string;
}

function query(filter: AuditPageProps['filter'], extra: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filter, ...extra })) if (v) params.set(k, v);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** L2: the organization's audit log, filterable, paged, exportable and verifiable, without JavaScript. */
export function AuditPage(p: AuditPageProps) {
  return (
    <>
      <p>
        <a href={`/orgs/${p.orgId}`}>← {p.orgName}</a>
      </p>
      <h1>Audit log</h1>
      {p.verdict && (
        <p class={p.verdict.ok ? 'notice' : 'form-message'} role="status">
          {p.verdict.ok
            ? `The chain is intact: ${p.verdict.events} events verified.`
            : `The chain is broken at event ${p.verdict.brokenAt}: ${p.verdict.reason}.`}
        </p>
      )}
      {p.error && (
        <p class="form-message" role="alert">
          {p.error}
        </p>
      )}
      <form method="get" action={`/orgs/${p.orgId}/audit`} aria-label="Filter events" class="filters">
        <div class="grid">
          <label for="filter-action">
            Action
            <input id="filter-action" name="action" value={p.filter.action} placeholder="member.* or org.renamed" />
          </label>
          <label for="filter-actor">
            Actor
            <input id="filter-actor" name="actor" value={p.filter.actor} placeholder="user:… or apikey:…" />
          </label>
          <label for="filter-from">
            From (UTC)
            <input id="filter-from" name="from" type="datetime-local" value={p.filter.from?.slice(0, 16)} />
          </label>
          <label for="filter-to">
            To (UTC)
            <input id="filter-to" name="to" type="datetime-local" value={p.filter.to?.slice(0, 16)} />
          </label>
        </div>
        <button type="submit" class="secondary">
          Filter
        </button>{' '}
        <a href={`/orgs/${p.orgId}/audit`}>Clear</a>
      </form>
      <div class="actions">
        {p.canExport && (
          <>
            <a
              href={`/api/v1/orgs/${p.orgId}/audit/export${query(p.filter, { format: 'csv' })}`}
              role="button"
              class="outline"
              download
            >
              Export CSV
            </a>{' '}
            <a
              href={`/api/v1/orgs/${p.orgId}/audit/export${query(p.filter, { format: 'jsonl' })}`}
              role="button"
              class="outline"
              download
            >
              Export JSON Lines
            </a>{' '}
          </>
        )}
        <ActionButton action={`/orgs/${p.orgId}/audit/verify`} csrf={p.csrf} label="Verify the chain">
          Verify chain
        </ActionButton>
      </div>
      {p.events.length === 0 ? (
        <p>No events match.</p>
      ) : (
        <Table columns={['#', 'When', 'Actor', 'Action', 'Target', 'IP', 'Details']}>
          {p.events.map((e) => (
            <tr>
              <td>{e.seq}</td>
              <td>{when(e.occurredAt, 'seconds')}</td>
              <td>{e.actor ?? 'system'}</td>
              <td>{e.action}</td>
              <td>{e.target ?? ''}</td>
              <td>{e.ip ?? ''}</td>
              <td>
                <code>{JSON.stringify(e.payload)}</code>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {p.next && (
        <p>
          <a href={`/orgs/${p.orgId}/audit${query(p.filter, { before: String(p.next) })}`}>Older events →</a>
        </p>
      )}
    </>
  );
}

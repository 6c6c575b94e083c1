import { csv } from '../platform/csv.js';
import type { Tx } from '../platform/db/database.js';
import { streamName, toStoredEvent, type AuditStream, type StoredEvent } from '../platform/audit/events.js';

export interface EventFilter {
  actor?: string;
  action?: string;
  from?: Date;
  to?: Date;
}

export interface EventPage {
  /** With their hashes: the API shows each event's. */
  events: Array<StoredEvent & { hash: string }>;
  /** The sequence number to pass as `before` for the next (older) page, if there is one. */
  next: number | null;
}

const MAX_PAGE = 200;
export const MAX_EXPORT = 100_000;

function filtered(tx: Tx, stream: AuditStream, filter: EventFilter) {
  let q = tx.selectFrom('audit_events').selectAll().where('stream', '=', streamName(stream));
  if (filter.actor) q = q.where('actor', '=', filter.actor);
  if (filter.action)
    q = q.where(
      'action',
      filter.action.endsWith('*') ? 'like' : '=',
      filter.action.endsWith('*') ? `${filter.action.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%` : filter.action,
    );
  if (filter.from) q = q.where('occurred_at', '>=', filter.from);
  if (filter.to) q = q.where('occurred_at', '<', filter.to);
  return q;
}

/** L2: newest first, filtered, paged by sequence number (keyset: stable while events are appended). */
export async function queryEvents(
  tx: Tx,
  stream: AuditStream,
  filter: EventFilter,
  page: { before?: number; limit?: number } = {},
): Promise<EventPage> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), MAX_PAGE);
  let q = filtered(tx, stream, filter);
  if (page.before) q = q.where('seq', '<', String(page.before));
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(limit + 1)
    .execute();
  const events = rows.slice(0, limit).map(toStoredEvent);
  return { events, next: rows.length > limit ? events[events.length - 1]!.seq : null };
}

/** Oldest first, for export. */
export async function allEvents(
  tx: Tx,
  stream: AuditStream,
  filter: EventFilter,
): Promise<Array<StoredEvent & { hash: string }>> {
  const rows = await filtered(tx, stream, filter).orderBy('seq', 'asc').limit(MAX_EXPORT).execute();
  return rows.map(toStoredEvent);
}

export function toCsv(events: Array<StoredEvent & { hash: string }>): string {
  return csv(
    ['seq', 'occurred_at', 'actor', 'action', 'target', 'ip', 'user_agent', 'payload', 'hash'],
    events.map((e) => [
      String(e.seq),
      e.occurredAt.toISOString(),
      e.actor ?? '',
      e.action,
      e.target ?? '',
      e.ip ?? '',
      e.userAgent ?? '',
      JSON.stringify(e.payload),
      e.hash,
    ]),
  );
}

export function toJsonLines(events: Array<StoredEvent & { hash: string }>): string {
  return events
    .map((e) =>
      JSON.stringify({
        seq: e.seq,
        occurred_at: e.occurredAt.toISOString(),
        actor: e.actor,
        action: e.action,
        target: e.target,
        ip: e.ip,
        user_agent: e.userAgent,
        payload: e.payload,
        hash: e.hash,
      }),
    )
    .map((l) => `${l}\n`)
    .join('');
}

import { canonicalJson } from '../canonical-json.js';
import { systemClock, type Clock } from '../clock.js';
import { becomeAuditor, SYSTEM_ORG, type Tx } from '../db/database.js';
import type { RequestContext } from '../request-context.js';
import { type AuditAction, auditActions } from './actions.js';
import { eventHash, GENESIS_HASH } from './chain.js';

/** A stream: one per organization, one per user for personal events, one for the system. */
export type AuditStream = { kind: 'org'; orgId: string } | { kind: 'user'; userId: string } | { kind: 'system' };

export const orgStream = (orgId: string): AuditStream => ({ kind: 'org', orgId });
export const userStream = (userId: string): AuditStream => ({ kind: 'user', userId });
export const systemStream: AuditStream = { kind: 'system' };

export function streamName(s: AuditStream): string {
  return s.kind === 'org' ? `org:${s.orgId}` : s.kind === 'user' ? `user:${s.userId}` : 'system';
}

function streamOrg(s: AuditStream): string {
  return s.kind === 'org' ? s.orgId : SYSTEM_ORG;
}

export interface AuditEventInput {
  stream: AuditStream;
  action: AuditAction;
  actor?: string | null;
  target?: string | null;
  context?: RequestContext;
  payload?: Record<string, unknown>;
}

export interface AppendedEvent {
  stream: string;
  seq: number;
  hash: string;
}

/**
 * Appends an event in the caller's transaction, so the action and its record commit together.
 * The stream's head row is locked for the rest of that transaction: appends to one stream are
 * serialized and its chain stays linear; other streams are not held up.
 */
export async function appendAudit(tx: Tx, event: AuditEventInput, clock: Clock = systemClock): Promise<AppendedEvent> {
  // The type already says so; this catches a name built at run time.
  if (!auditActions().has(event.action)) throw new Error(`audit action ${event.action} is not declared`);
  const stream = streamName(event.stream);
  const orgId = streamOrg(event.stream);
  // Normalized through the canonical form, so what is hashed is exactly what jsonb gives back.
  const payloadJson = canonicalJson(event.payload ?? {});

  await tx
    .insertInto('audit_heads')
    .values({ stream, org_id: orgId, seq: 0, hash: GENESIS_HASH })
    .onConflict((oc) => oc.column('stream').doNothing())
    .execute();
  const head = await tx
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('stream', '=', stream)
    .forUpdate()
    .executeTakeFirstOrThrow();

  const fields = {
    stream,
    seq: Number(head.seq) + 1,
    occurredAt: clock.now(),
    actor: event.actor ?? null,
    action: event.action,
    target: event.target ?? null,
    ip: event.context?.ip ?? null,
    userAgent: event.context?.userAgent ?? null,
    requestId: event.context?.requestId ?? null,
    payload: JSON.parse(payloadJson) as unknown,
    prevHash: head.hash,
  };
  const hash = eventHash(fields);
  await tx
    .insertInto('audit_events')
    .values({
      org_id: orgId,
      stream,
      seq: fields.seq,
      occurred_at: fields.occurredAt,
      actor: fields.actor,
      action: fields.action,
      target: fields.target,
      ip: fields.ip,
      user_agent: fields.userAgent,
      request_id: fields.requestId,
      payload: payloadJson,
      prev_hash: fields.prevHash,
      hash,
    })
    .execute();
  await tx.updateTable('audit_heads').set({ seq: fields.seq, hash }).where('stream', '=', stream).execute();
  return { stream, seq: fields.seq, hash };
}

export type ChainVerdict =
  | { ok: true; stream: string; events: number }
  | { ok: false; stream: string; events: number; brokenAt: number; reason: string };

const BATCH = 1000;

/** Walks a stream from its first event and reports the first one that does not hold. */
export async function verifyChain(tx: Tx, stream: string): Promise<ChainVerdict> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  const broken = (brokenAt: number, reason: string): ChainVerdict => ({
    ok: false,
    stream,
    events: expectedSeq - 1,
    brokenAt,
    reason,
  });

  for (;;) {
    const rows = await tx
      .selectFrom('audit_events')
      .selectAll()
      .where('stream', '=', stream)
      .where('seq', '>=', String(expectedSeq))
      .orderBy('seq')
      .limit(BATCH)
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return broken(expectedSeq, `event ${expectedSeq} is missing`);
      if (row.prev_hash !== prevHash) return broken(seq, `event ${seq} does not link to the event before it`);
      const recomputed = eventHash({
        stream,
        seq,
        occurredAt: row.occurred_at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        ip: row.ip,
        userAgent: row.user_agent,
        requestId: row.request_id,
        payload: row.payload,
        prevHash: row.prev_hash,
      });
      if (recomputed !== row.hash) return broken(seq, `event ${seq} was altered after it was written`);
      prevHash = row.hash;
      expectedSeq++;
    }
    if (rows.length < BATCH) break;
  }

  const head = await tx
    .selectFrom('audit_heads')
    .select(['seq', 'hash'])
    .where('stream', '=', stream)
    .executeTakeFirst();
  const last = expectedSeq - 1;
  if (head && Number(head.seq) > last)
    return broken(last + 1, `event ${last + 1} is missing (the stream reached ${head.seq})`);
  if (head && (Number(head.seq) !== last || head.hash !== prevHash))
    return broken(last, `the stream's head does not match event ${last}`);
  return { ok: true, stream, events: last };
}

/** Streams visible in this transaction (its org's, or the personal and system ones for withSystem). */
export async function listStreams(tx: Tx): Promise<string[]> {
  const rows = await tx.selectFrom('audit_heads').select('stream').orderBy('stream').execute();
  return rows.map((r) => r.stream);
}

/**
 * Every stream of every organization, for `rampart audit verify`: runs on the owner connection as the read-only
 * auditor role.
 */
export async function verifyAllStreams(
  ownerTx: Tx,
  onStream?: (verdict: ChainVerdict) => void,
): Promise<ChainVerdict[]> {
  await becomeAuditor(ownerTx);
  const verdicts: ChainVerdict[] = [];
  for (const stream of await listStreams(ownerTx)) {
    const verdict = await verifyChain(ownerTx, stream);
    onStream?.(verdict);
    verdicts.push(verdict);
  }
  return verdicts;
}

export interface StoredEvent {
  seq: number;
  occurredAt: Date;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  userAgent: string | null;
  payload: Record<string, unknown>;
}

/** An event row as features read it (the hash kept for exports). */
export function toStoredEvent(r: {
  seq: string;
  occurred_at: Date;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  payload: unknown;
  hash: string;
}): StoredEvent & { hash: string } {
  return {
    seq: Number(r.seq),
    occurredAt: r.occurred_at,
    actor: r.actor,
    action: r.action,
    target: r.target,
    ip: r.ip,
    userAgent: r.user_agent,
    payload: r.payload as Record<string, unknown>,
    hash: r.hash,
  };
}

/** Newest first: a stream's events since a time, optionally only some actions. */
export async function listEvents(
  tx: Tx,
  stream: AuditStream,
  opts: { since?: Date; actions?: string[]; limit?: number } = {},
): Promise<StoredEvent[]> {
  let q = tx.selectFrom('audit_events').selectAll().where('stream', '=', streamName(stream));
  if (opts.since) q = q.where('occurred_at', '>=', opts.since);
  if (opts.actions?.length) q = q.where('action', 'in', opts.actions);
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(opts.limit ?? 100)
    .execute();
  return rows.map(toStoredEvent);
}

import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields an event's hash covers: everything but its row id. */
export interface ChainedFields {
  stream: string;
  seq: number;
  occurredAt: Date;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  payload: unknown;
  prevHash: string;
}

export function eventHash(e: ChainedFields): string {
  const canonical = canonicalJson({
    v: 1,
    stream: e.stream,
    seq: e.seq,
    occurred_at: e.occurredAt.toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    payload: e.payload,
    prev_hash: e.prevHash,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

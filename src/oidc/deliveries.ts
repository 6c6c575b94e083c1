import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import * as repo from './repository.js';

/** How long delivery outcomes are kept. */
export const DELIVERIES_KEPT_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_ERROR = 500;

export interface Delivery {
  clientId: string;
  delivered: boolean;
  attempts: number;
  lastError: string | null;
  finishedAt: Date;
}

/**
 * A10/S3: how each back-channel logout delivery to a product ended, for the operator to see. The
 * error is the provider's (status line or network error) and names only the product's own URI.
 */
export function createDeliveries(deps: { db: Tenancy; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async record(d: Omit<Delivery, 'finishedAt'>): Promise<void> {
      const lastError = d.lastError === null ? null : d.lastError.slice(0, MAX_ERROR);
      await db.withSystem((tx) =>
        repo.insertDelivery(tx, {
          client_id: d.clientId,
          delivered: d.delivered,
          attempts: d.attempts,
          last_error: lastError,
          finished_at: clock.now(),
        }),
      );
    },

    /** Newest first. */
    async recent(clientId: string, limit = 20): Promise<Delivery[]> {
      const rows = await db.withSystem((tx) => repo.recentDeliveries(tx, clientId, limit));
      return rows.map((r) => ({
        clientId: r.client_id,
        delivered: r.delivered,
        attempts: r.attempts,
        lastError: r.last_error,
        finishedAt: r.finished_at,
      }));
    },

    /** Failed deliveries of the last 24 hours, per client id. */
    async failedInADay(): Promise<Map<string, number>> {
      const since = new Date(clock.now().getTime() - DAY_MS);
      const rows = await db.withSystem((tx) => repo.failuresSince(tx, since));
      return new Map(rows.map((r) => [r.client_id, Number(r.failed)]));
    },

    /** Deletes outcomes older than DELIVERIES_KEPT_DAYS. */
    prune: () =>
      db.withSystem((tx) => repo.pruneDeliveries(tx, new Date(clock.now().getTime() - DELIVERIES_KEPT_DAYS * DAY_MS))),
  };
}

export type Deliveries = ReturnType<typeof createDeliveries>;

import type { Tx } from '../db/database.js';

/** One sealed value as the rewrap sees it: where it is, and the context it was sealed with. */
export interface SealedRecord {
  key: string;
  sealed: string;
  context: Readonly<Record<string, string>>;
}

/**
 * D3: one kind of value sealed under the master keyring (a column of a table). The rewrap pages
 * through it in system transactions (withSystem), so its table's policy must let system work read
 * and update that column, tenant tables included: the owner role is under forced RLS too, so there
 * is no other way to see every organization's rows. It swaps each value for one wrapped by the
 * current key, never touching the data.
 */
export interface SealedValues {
  /** Shown in the per-version counts: 'mfa.totp_secret'. */
  name: string;
  /** Records ordered by key, those after `after`, at most `limit`. */
  page(tx: Tx, after: string | undefined, limit: number): Promise<SealedRecord[]>;
  /** Stores `next` only if the record still holds `previous`; false when it changed meanwhile. */
  replace(tx: Tx, key: string, previous: string, next: string): Promise<boolean>;
}

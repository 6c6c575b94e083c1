import { hkdfSync } from 'node:crypto';
import type { SealedValues } from './sealed.js';
import { open, seal } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import { draw, type RandomSource, systemRandom } from '../crypto/random.js';
import type { Tenancy } from '../db/database.js';

const ROOT_CONTEXT = { purpose: 'subkey root' };

/**
 * D3: the root the app's subkeys are derived from: 32 random bytes made on first start, kept in the
 * database sealed by the master keyring. A rotation re-wraps it and changes no derived key, and every
 * instance of a deployment derives the same ones.
 */
export async function loadSubkeyRoot(
  db: Tenancy,
  keyring: Keyring,
  now: Date,
  random: RandomSource = systemRandom,
): Promise<Buffer> {
  const sealed = await db.withSystem(async (tx) => {
    const existing = await tx.selectFrom('keyring_state').select('root_sealed').executeTakeFirst();
    if (existing?.root_sealed) return existing.root_sealed;
    const root = draw(random, 32);
    const mine = seal(keyring, root, ROOT_CONTEXT, random);
    root.fill(0);
    await tx
      .insertInto('keyring_state')
      .values({ id: 1, current_version: null, retired_versions: [], updated_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    // Two instances starting at once: the first one's root wins, the other reads it back.
    await tx.updateTable('keyring_state').set({ root_sealed: mine }).where('root_sealed', 'is', null).execute();
    const row = await tx.selectFrom('keyring_state').select('root_sealed').executeTakeFirstOrThrow();
    return row.root_sealed as string;
  });
  return open(keyring, sealed, ROOT_CONTEXT);
}

/** A 256-bit key for one purpose, derived from the root. */
export function deriveSubkey(root: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), info, 32));
}

/** The root as the rewrap sees it: one record. */
export const subkeyRootSealedValue: SealedValues = {
  name: 'platform.subkey_root',
  async page(tx, after) {
    if (after !== undefined) return [];
    const row = await tx.selectFrom('keyring_state').select('root_sealed').executeTakeFirst();
    return row?.root_sealed ? [{ key: 'root', sealed: row.root_sealed, context: ROOT_CONTEXT }] : [];
  },
  async replace(tx, _key, previous, next) {
    const res = await tx
      .updateTable('keyring_state')
      .set({ root_sealed: next })
      .where('root_sealed', '=', previous)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  },
};

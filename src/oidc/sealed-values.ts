import type { SealedValues } from '../feature.js';
import { signingKeyContext } from './signing-keys.js';

/** D3: the private halves of the provider's signing keys, sealed by the master keyring. */
export const signingKeySecrets: SealedValues = {
  name: 'oidc.signing_key',
  async page(tx, after, limit) {
    let query = tx.selectFrom('oidc_signing_keys').select(['kid', 'private_sealed']).orderBy('kid').limit(limit);
    if (after !== undefined) query = query.where('kid', '>', after);
    const rows = await query.execute();
    return rows.map((r) => ({ key: r.kid, sealed: r.private_sealed, context: signingKeyContext(r.kid) }));
  },
  async replace(tx, key, previous, next) {
    const res = await tx
      .updateTable('oidc_signing_keys')
      .set({ private_sealed: next })
      .where('kid', '=', key)
      .where('private_sealed', '=', previous)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  },
};

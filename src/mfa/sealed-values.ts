import type { SealedValues } from '../feature.js';
import { secretContext } from './checks.js';

/** D3: the TOTP secrets, one per person, sealed by the master keyring. */
export const totpSecrets: SealedValues = {
  name: 'mfa.totp_secret',
  async page(tx, after, limit) {
    let query = tx.selectFrom('totp_credentials').select(['user_id', 'secret_sealed']).orderBy('user_id').limit(limit);
    if (after !== undefined) query = query.where('user_id', '>', after);
    const rows = await query.execute();
    return rows.map((r) => ({ key: r.user_id, sealed: r.secret_sealed, context: secretContext(r.user_id) }));
  },
  async replace(tx, key, previous, next) {
    const res = await tx
      .updateTable('totp_credentials')
      .set({ secret_sealed: next })
      .where('user_id', '=', key)
      .where('secret_sealed', '=', previous)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  },
};

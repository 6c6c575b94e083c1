import type { SealedValues } from '../feature.js';
import { upstreamSecretContext } from './providers.js';
import { pkceContext } from './service.js';

/** D3: the upstream providers' client secrets, sealed by the master keyring. */
export const upstreamClientSecrets: SealedValues = {
  name: 'external_signin.client_secret',
  async page(tx, after, limit) {
    let query = tx.selectFrom('upstream_providers').select(['id', 'client_secret_sealed']).orderBy('id').limit(limit);
    if (after !== undefined) query = query.where('id', '>', after);
    const rows = await query.execute();
    return rows.map((r) => ({ key: r.id, sealed: r.client_secret_sealed, context: upstreamSecretContext(r.id) }));
  },
  async replace(tx, key, previous, next) {
    const res = await tx
      .updateTable('upstream_providers')
      .set({ client_secret_sealed: next })
      .where('id', '=', key)
      .where('client_secret_sealed', '=', previous)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  },
};

/** D3: the PKCE verifiers of sign-ins under way (short-lived, but sealed all the same). */
export const signinFlowVerifiers: SealedValues = {
  name: 'external_signin.code_verifier',
  async page(tx, after, limit) {
    let query = tx
      .selectFrom('external_signin_flows')
      .select(['state_hash', 'code_verifier_sealed'])
      .orderBy('state_hash')
      .limit(limit);
    if (after !== undefined) query = query.where('state_hash', '>', after);
    const rows = await query.execute();
    return rows.map((r) => ({ key: r.state_hash, sealed: r.code_verifier_sealed, context: pkceContext(r.state_hash) }));
  },
  async replace(tx, key, previous, next) {
    const res = await tx
      .updateTable('external_signin_flows')
      .set({ code_verifier_sealed: next })
      .where('state_hash', '=', key)
      .where('code_verifier_sealed', '=', previous)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  },
};

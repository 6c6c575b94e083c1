import type { Clock } from '../platform/clock.js';
import type { Tenancy, Tx } from '../platform/db/database.js';

/*
 * A10, S3: the register of the JWT access tokens Rampart signed (oidc_access_tokens), which is also
 * their denylist (RFC 7009).
 *
 * Why a row per token rather than a denylist of revoked ones alone: a JWT names no grant, and
 * introspection must see a token die with its grant and its Rampart session (sign-out, reuse of a
 * refresh token, a member removed). The row links the token's jti to its grant, written before the
 * token leaves Rampart, so every instance finds it. That costs one insert per access token (at most
 * one per grant every 15 minutes, beside the token endpoint's own writes) and one primary-key
 * lookup per introspection; nothing changes in the token a product verifies locally, and a token
 * without a row (not signed here, or swept) is inactive: the check fails closed. Rows are swept
 * once their token has expired, with a margin, like the provider's artifacts.
 */

/** Kept past the token's expiry, so a clock a little ahead never sweeps a live token's row. */
const KEEP_AFTER_EXPIRY_MS = 5 * 60 * 1000;

export interface IssuedAccessToken {
  jti: string;
  grantId: string;
  clientId: string;
  /** Seconds the token lives (its `exp` minus its `iat`). */
  expiresInS: number;
}

/** A token's row with the grant the provider holds for it (undefined fields: that grant is gone). */
export interface AccessTokenState {
  grantId: string;
  clientId: string;
  revoked: boolean;
  /** The provider's Grant artifact, if it is still there and unexpired. */
  grant?: { accountId: unknown; clientId: unknown };
}

export interface AccessTokens {
  /** Called while the provider signs an access token, before it is returned. */
  issued(token: IssuedAccessToken): Promise<void>;
  find(jti: string): Promise<AccessTokenState | undefined>;
  /** RFC 7009: the token of this client is revoked until it expires; false when there is no such token. */
  revoke(jti: string, clientId: string): Promise<boolean>;
  /** Deletes the rows of tokens that have expired; how many went. */
  sweep(): Promise<number>;
}

const findRow = (tx: Tx, jti: string) =>
  tx
    .selectFrom('oidc_access_tokens as t')
    .leftJoin('oidc_artifacts as g', (join) => join.onRef('g.id', '=', 't.grant_id').on('g.model', '=', 'Grant'))
    .select(['t.grant_id', 't.client_id', 't.revoked_at', 'g.payload', 'g.expires_at'])
    .where('t.jti', '=', jti)
    .executeTakeFirst();

export function createAccessTokens(deps: { db: Tenancy; clock: Clock }): AccessTokens {
  const { db, clock } = deps;
  return {
    async issued(token) {
      const expiresAt = new Date(clock.now().getTime() + token.expiresInS * 1000 + KEEP_AFTER_EXPIRY_MS);
      await db.withSystem((tx) =>
        tx
          .insertInto('oidc_access_tokens')
          .values({ jti: token.jti, grant_id: token.grantId, client_id: token.clientId, expires_at: expiresAt })
          .onConflict((oc) => oc.column('jti').doNothing())
          .execute(),
      );
    },

    async find(jti) {
      const row = await db.withSystem((tx) => findRow(tx, jti));
      if (!row) return undefined;
      const now = clock.now();
      const grantLive = row.payload && (!row.expires_at || row.expires_at > now);
      return {
        grantId: row.grant_id,
        clientId: row.client_id,
        revoked: row.revoked_at !== null,
        ...(grantLive ? { grant: { accountId: row.payload!.accountId, clientId: row.payload!.clientId } } : {}),
      };
    },

    async revoke(jti, clientId) {
      const res = await db.withSystem((tx) =>
        tx
          .updateTable('oidc_access_tokens')
          .set({ revoked_at: clock.now() })
          .where('jti', '=', jti)
          .where('client_id', '=', clientId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst(),
      );
      return res.numUpdatedRows > 0n;
    },

    async sweep() {
      const now = clock.now();
      const res = await db.withSystem((tx) =>
        tx.deleteFrom('oidc_access_tokens').where('expires_at', '<', now).executeTakeFirst(),
      );
      return Number(res.numDeletedRows);
    },
  };
}

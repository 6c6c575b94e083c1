import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tenancy } from '../platform/db/database.js';
import * as repo from './repository.js';

/*
 * A10: the keys tokens are signed with. Generated here, the private half sealed by the master
 * keyring. A new key is published before it signs (products that cache the JWKS see it first), and
 * a replaced one stays published until every token it signed has expired.
 */

/** How long a new key is published before it starts signing. */
export const PUBLISH_AHEAD_MS = 60 * 60 * 1000;
/** The longest-lived thing a key signs (ID and access tokens: 15 minutes), with a margin. */
export const LONGEST_SIGNED_MS = 30 * 60 * 1000;

export interface KeySet {
  /** The private JWK that signs now: oidc-provider is given this one alone. */
  signing: JWK;
  /** Public JWKs of every published key (the JWKS document): the next one, the current one, retired ones. */
  published: JWK[];
}

export interface SigningKeys {
  /** The keys now, making the first one when there is none. */
  current(): Promise<KeySet>;
  /** `rampart keys rotate-signing`: a new key, published now, signing after PUBLISH_AHEAD_MS. */
  rotate(opts?: { immediately?: boolean }): Promise<{ kid: string; signsFrom: Date }>;
  list(): Promise<
    Array<{ kid: string; alg: string; signsFrom: Date; retiredAt: Date | null; unpublishAfter: Date | null }>
  >;
}

export const signingKeyContext = (kid: string) => ({ purpose: 'oidc signing key', kid });

export function createSigningKeys(deps: { db: Tenancy; keyring: Keyring; clock: Clock }): SigningKeys {
  const { db, keyring, clock } = deps;

  async function insertNew(signsFrom: Date): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomBytes(12).toString('base64url');
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    await db.withSystem((tx) =>
      repo.insertSigningKey(tx, {
        kid,
        alg: 'ES256',
        public_jwk: JSON.stringify(publicJwk),
        private_sealed: seal(keyring, JSON.stringify(privateJwk), signingKeyContext(kid)),
        created_at: clock.now(),
        signs_from: signsFrom,
      }),
    );
    return kid;
  }

  async function current(): Promise<KeySet> {
    const now = clock.now();
    let rows = await db.withSystem(async (tx) => {
      await repo.deleteUnpublishedKeys(tx, now);
      return repo.signingKeys(tx);
    });
    if (!rows.some((r) => r.signs_from <= now && !r.retired_at)) {
      await insertNew(now);
      rows = await db.withSystem((tx) => repo.signingKeys(tx));
    }
    // The newest key whose time has come signs; older ones that have not been retired yet are retired now.
    const live = rows.filter((r) => r.signs_from <= now && !r.retired_at);
    const signing = live[live.length - 1]!;
    const replaced = live.filter((r) => r !== signing).map((r) => r.kid);
    if (replaced.length > 0) {
      await db.withSystem((tx) =>
        repo.retireSigningKeys(tx, replaced, now, new Date(now.getTime() + LONGEST_SIGNED_MS)),
      );
      rows = await db.withSystem((tx) => repo.signingKeys(tx));
    }
    const published = rows.filter((r) => !r.unpublish_after || r.unpublish_after > now).map((r) => r.public_jwk as JWK);
    const privateJwk = JSON.parse(
      open(keyring, signing.private_sealed, signingKeyContext(signing.kid)).toString('utf8'),
    ) as JWK;
    return {
      signing: { ...privateJwk, kid: signing.kid, alg: signing.alg, use: 'sig' },
      published,
    };
  }

  return {
    current,
    async rotate(opts = {}) {
      await current(); // there is a signing key to replace
      const signsFrom = new Date(clock.now().getTime() + (opts.immediately ? 0 : PUBLISH_AHEAD_MS));
      const kid = await insertNew(signsFrom);
      return { kid, signsFrom };
    },
    async list() {
      const rows = await db.withSystem((tx) => repo.signingKeys(tx));
      return rows.map((r) => ({
        kid: r.kid,
        alg: r.alg,
        signsFrom: r.signs_from,
        retiredAt: r.retired_at,
        unpublishAfter: r.unpublish_after,
      }));
    },
  };
}

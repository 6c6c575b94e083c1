import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { RampartAuthError } from './errors.js';
import type { FetchLike } from './fetch.js';

/** Resolves the verification key of a JWS from its protected header (jose's `JWTVerifyGetKey`). */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface RemoteKeyResolverOptions {
  /** The JWKS URL, or a function that finds it (e.g. from discovery) on first use. */
  jwksUri: URL | (() => Promise<URL>);
  fetch?: FetchLike;
  /** Minimum time between two refetches caused by an unknown `kid`. Default 30 s. */
  unknownKidCooldownMs?: number;
  /** Cached keys are refetched after this long even when every `kid` is known. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** Timeout of one JWKS request. Default 5 s. */
  timeoutMs?: number;
}

function isKeyMismatch(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys;
}

/**
 * A key resolver over the issuer's JWKS with this behaviour:
 * - keys are fetched once and reused (until `cacheMaxAgeMs`);
 * - a token whose `kid` is not in the cached set (key rotation) causes one refetch, then is
 *   checked against the new set;
 * - such refetches happen at most once per `unknownKidCooldownMs`, so tokens with made-up `kid`s
 *   cannot make the product hammer the issuer;
 * - a failed fetch (network, timeout, non-200, not a JWKS) is `jwks_unavailable` (503), never an
 *   invalid token; a `kid` that stays unknown is an invalid token.
 *
 * jose's own cooldown counts from the last fetch of any kind, which would refuse a freshly rotated
 * key for up to 30 s after a routine fetch; it is switched off here in favour of the rule above.
 */
export function createRemoteKeyResolver(options: RemoteKeyResolverOptions): KeyResolver {
  const cooldownMs = options.unknownKidCooldownMs ?? 30_000;
  let remote: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  let lastMissRefetch = Number.NEGATIVE_INFINITY;
  let missRefetch: Promise<void> | undefined;

  const getRemote = () => {
    if (!remote) {
      const pending = (async () => {
        const url = typeof options.jwksUri === 'function' ? await options.jwksUri() : options.jwksUri;
        return createRemoteJWKSet(url, {
          cooldownDuration: Number.POSITIVE_INFINITY,
          cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
          timeoutDuration: options.timeoutMs ?? 5_000,
          ...(options.fetch ? { [customFetch]: options.fetch } : {}),
        });
      })();
      remote = pending;
      // A failed discovery is not cached: the next token tries again.
      pending.catch(() => {
        if (remote === pending) remote = undefined;
      });
    }
    return remote;
  };

  const unavailable = (cause: unknown) =>
    cause instanceof RampartAuthError ? cause : new RampartAuthError('jwks_unavailable', undefined, { cause });

  return async (header, token) => {
    let jwks: Awaited<ReturnType<typeof getRemote>>;
    try {
      jwks = await getRemote();
    } catch (cause) {
      throw unavailable(cause);
    }
    // When the cache is empty or stale, jose fetches inside this very call: a miss then is final.
    const fetchingNow = !jwks.fresh;
    try {
      return await jwks(header, token);
    } catch (err) {
      if (!isKeyMismatch(err)) throw unavailable(err);
      if (fetchingNow) throw err;
      if (!missRefetch && Date.now() - lastMissRefetch < cooldownMs) throw err;
      if (!missRefetch) {
        lastMissRefetch = Date.now();
        missRefetch = jwks.reload().finally(() => {
          missRefetch = undefined;
        });
      }
      try {
        await missRefetch;
      } catch (cause) {
        throw unavailable(cause);
      }
      try {
        return await jwks(header, token);
      } catch (retryErr) {
        throw isKeyMismatch(retryErr) ? retryErr : unavailable(retryErr);
      }
    }
  };
}

/** A key resolver over a fixed JWKS (tests, or keys pinned in configuration). */
export function createLocalKeyResolver(jwks: JSONWebKeySet): KeyResolver {
  const local = createLocalJWKSet(jwks);
  return (header, token) => local(header, token);
}

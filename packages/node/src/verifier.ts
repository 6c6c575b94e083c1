import { errors, jwtVerify } from 'jose';
import { fetchDiscovery, type RampartDiscovery } from './discovery.js';
import { RampartAuthError } from './errors.js';
import type { FetchLike } from './fetch.js';
import { identityFromClaims, type RampartIdentity } from './identity.js';
import { createRemoteKeyResolver, type KeyResolver } from './jwks.js';

export type RampartAlgorithm = 'ES256' | 'EdDSA' | 'Ed25519' | 'ES384' | 'PS256' | 'RS256';

export interface VerifierOptions {
  /** Rampart's issuer URL exactly as in its tokens, e.g. `https://auth.example.com`. */
  issuer: string;
  /** The product's audience (resource identifier or client_id); any one of several is accepted. */
  audience: string | readonly string[];
  /** Accepted signature algorithms. Default `['ES256', 'EdDSA']`. Never add `none` or HS*. */
  algorithms?: readonly RampartAlgorithm[];
  /** JWKS URL; when absent it is read from discovery. */
  jwksUri?: string | URL;
  /** Leeway for `exp`/`iat`/`nbf`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Fetch implementation for discovery and JWKS (e.g. one trusting a private CA). */
  fetch?: FetchLike;
  /** Minimum time between JWKS refetches caused by an unknown `kid`. Default 30 000 ms. */
  unknownKidCooldownMs?: number;
  /** Routine JWKS refresh interval. Default 600 000 ms. */
  jwksCacheMaxAgeMs?: number;
  /** Timeout of discovery and JWKS requests. Default 5 000 ms. */
  httpTimeoutMs?: number;
}

export interface RampartVerifier {
  /** Verifies an access token; resolves to the caller's identity or rejects with RampartAuthError. */
  verify(token: string): Promise<RampartIdentity>;
  /** The issuer's discovery document, fetched once and cached. */
  discovery(): Promise<RampartDiscovery>;
  readonly issuer: string;
  /** The key resolver over the issuer's JWKS, shared with the back-channel logout handler. */
  readonly keys: KeyResolver;
  readonly algorithms: readonly RampartAlgorithm[];
  readonly clockToleranceSec: number;
}

const ACCESS_TOKEN_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'];
const FORBIDDEN_ALGORITHMS = /^(none|HS\d+)$/i;

export function createVerifier(options: VerifierOptions): RampartVerifier {
  const { issuer } = options;
  if (!URL.canParse(issuer)) throw new TypeError('issuer must be a URL');
  const audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  if (audience.length === 0 || audience.some((a) => !a)) throw new TypeError('audience is required');
  const algorithms = Object.freeze([...(options.algorithms ?? ['ES256', 'EdDSA'])]);
  if (algorithms.length === 0 || algorithms.some((a) => FORBIDDEN_ALGORITHMS.test(a))) {
    throw new TypeError('algorithms must list asymmetric signature algorithms');
  }
  const clockToleranceSec = options.clockToleranceSec ?? 5;
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.httpTimeoutMs ?? 5_000;

  let discovered: Promise<RampartDiscovery> | undefined;
  const discovery = () => {
    if (!discovered) {
      const pending = fetchDiscovery(issuer, fetchImpl, timeoutMs);
      discovered = pending;
      // Failures are not cached, so an issuer that was briefly down is found again.
      pending.catch(() => {
        if (discovered === pending) discovered = undefined;
      });
    }
    return discovered;
  };

  const keys = createRemoteKeyResolver({
    jwksUri: options.jwksUri ? new URL(options.jwksUri) : async () => new URL((await discovery()).jwks_uri),
    fetch: fetchImpl,
    unknownKidCooldownMs: options.unknownKidCooldownMs,
    cacheMaxAgeMs: options.jwksCacheMaxAgeMs,
    timeoutMs,
  });

  const verify = async (token: string): Promise<RampartIdentity> => {
    if (typeof token !== 'string' || token === '') throw new RampartAuthError('token_missing');
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: [...algorithms],
        typ: 'at+jwt',
        requiredClaims: ACCESS_TOKEN_CLAIMS,
        clockTolerance: clockToleranceSec,
      }));
    } catch (err) {
      throw toAuthError(err);
    }
    try {
      return identityFromClaims(payload);
    } catch (cause) {
      throw new RampartAuthError('token_invalid', undefined, { cause });
    }
  };

  return { verify, discovery, issuer, keys, algorithms, clockToleranceSec };
}

export function toAuthError(err: unknown): RampartAuthError {
  if (err instanceof RampartAuthError) return err;
  if (err instanceof errors.JWTExpired && err.claim === 'exp') {
    return new RampartAuthError('token_expired', undefined, { cause: err });
  }
  return new RampartAuthError('token_invalid', undefined, { cause: err });
}

import { createLocalJWKSet, errors as joseErrors, type JWK, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import type { AccessTokens } from './access-tokens.js';
import type { Claims } from './claims.js';
import * as repo from './repository.js';

/*
 * A10, S3: whether a Rampart JWT access token is live. Introspection, userinfo and revocation ask,
 * and so does any Rampart API that takes a product's token on its user's behalf (the vault's
 * requests, with scope `connections`).
 */

export interface TokenVerifierDeps {
  issuer: string;
  db: Tenancy;
  clock: Clock;
  claims: Claims;
  accessTokens: AccessTokens;
  publishedKeys(): readonly JWK[];
}

/** A token introspection would call active, with whom it speaks for. */
export interface ActiveAccessToken {
  payload: JWTPayload;
  userId: string;
  clientId: string;
  /** The organization the person chose for the product (scope `org`), if any. */
  orgId: string | undefined;
  scopes: ReadonlySet<string>;
}

export const audienceHas = (aud: JWTPayload['aud'], clientId: string) =>
  Array.isArray(aud) ? aud.length === 1 && aud[0] === clientId : aud === clientId;

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;

export function createTokenVerifier(deps: TokenVerifierDeps) {
  const { issuer, clock, claims, accessTokens } = deps;
  let keysOf: readonly JWK[] | undefined;
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  const cachedKeys = () => {
    const published = deps.publishedKeys();
    if (published !== keysOf) [keysOf, keySet] = [published, createLocalJWKSet({ keys: [...published] })];
    return keySet!;
  };
  // A key published by another instance in the last minute (an immediate rotation): read from the database.
  const freshKeys = async () => {
    const now = clock.now();
    const rows = await deps.db.withSystem((tx) => repo.signingKeys(tx));
    const keys = rows.filter((r) => !r.unpublish_after || r.unpublish_after > now).map((r) => r.public_jwk as JWK);
    return createLocalJWKSet({ keys });
  };

  /** The token's claims when it is a JWT access token that this issuer signed and that has not expired. */
  async function verified(token: string): Promise<JWTPayload | undefined> {
    const options = {
      issuer,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      currentDate: clock.now(),
      requiredClaims: ['jti', 'sub', 'exp', 'iat', 'aud', 'client_id'],
    };
    try {
      return (await jwtVerify(token, cachedKeys(), options)).payload;
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) return undefined;
    }
    try {
      return (await jwtVerify(token, await freshKeys(), options)).payload;
    } catch {
      return undefined;
    }
  }

  /**
   * Still what it was issued as: its row (not revoked), its grant (not revoked: reuse detection, a
   * member removed, a refresh token revoked, a session ended), its Rampart session live and its
   * organization role unchanged (a lowered role shows in the next token; this one claims the old).
   */
  async function live(payload: JWTPayload, clientId: string, reads: object = {}): Promise<string | undefined> {
    const state = await accessTokens.find(String(payload.jti));
    if (!state || state.revoked || state.clientId !== clientId || !state.grant) return undefined;
    if (state.grant.accountId !== payload.sub || state.grant.clientId !== clientId) return undefined;
    const now = await claims.forAccessToken(String(payload.sub), state.grantId, reads);
    if (!now || now.org_id !== payload.org_id || now.org_role !== payload.org_role) return undefined;
    return state.grantId;
  }

  /** The token, when it is signed here, unexpired, issued to the client it names, and live. */
  async function active(token: string): Promise<ActiveAccessToken | undefined> {
    const payload = await verified(token);
    const clientId = typeof payload?.client_id === 'string' ? payload.client_id : undefined;
    if (!payload || !clientId || !audienceHas(payload.aud, clientId)) return undefined;
    if (!(await live(payload, clientId))) return undefined;
    return {
      payload,
      userId: String(payload.sub),
      clientId,
      orgId: typeof payload.org_id === 'string' ? payload.org_id : undefined,
      scopes: new Set(String(payload.scope ?? '').split(' ')),
    };
  }

  return { verified, live, active };
}

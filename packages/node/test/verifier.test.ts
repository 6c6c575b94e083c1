import { randomUUID } from 'node:crypto';
import { exportSPKI, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type RampartAuthError, type RampartVerifier } from '../src/index.js';
import {
  AUDIENCE,
  accessClaims,
  accessToken,
  makeKey,
  sign,
  startIssuer,
  type TestIssuer,
  unsignedToken,
} from './issuer.js';

let issuer: TestIssuer;
let verifier: RampartVerifier;

beforeAll(async () => {
  issuer = await startIssuer();
  verifier = createVerifier({ issuer: issuer.url, audience: AUDIENCE, fetch: issuer.fetch });
});
afterAll(() => issuer.close());

async function refusal(promise: Promise<unknown>): Promise<RampartAuthError> {
  try {
    await promise;
  } catch (err) {
    return err as RampartAuthError;
  }
  throw new Error('expected a refusal');
}

describe('createVerifier', () => {
  it('[A10] verifies a Rampart access token and maps every claim', async () => {
    const claims = accessClaims(issuer, { acr: 'urn:rampart:acr:mfa', amr: ['pwd', 'otp', 'mfa'] });
    const identity = await verifier.verify(await sign(issuer, claims));
    expect(identity).toMatchObject({
      userId: claims.sub,
      orgId: claims.org_id,
      role: 'admin',
      permissions: ['members.read', 'api_keys.manage'],
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
      secondFactor: true,
      sessionId: claims.sid,
      clientId: 'product-web',
      scope: ['openid', 'profile'],
      tokenId: claims.jti,
    });
    expect(identity.authTime?.getTime()).toBe((claims.auth_time as number) * 1000);
    expect(identity.expiresAt.getTime()).toBe((claims.exp as number) * 1000);
    expect(identity.claims.client_id).toBe('product-web');
    expect(Object.isFrozen(identity.permissions)).toBe(true);
  });

  it('[A10] a personal token (no org) maps to null org and role; one factor is not a second factor', async () => {
    const identity = await verifier.verify(
      await accessToken(issuer, { org_id: undefined, org_role: undefined, permissions: undefined, sid: undefined }),
    );
    expect(identity).toMatchObject({ orgId: null, role: null, permissions: [], sessionId: null, secondFactor: false });
  });

  it('[A10] fetches discovery and the JWKS once and reuses the cached keys', async () => {
    const fresh = await startIssuer();
    try {
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      for (let i = 0; i < 5; i++) await v.verify(await accessToken(fresh));
      await Promise.all([1, 2, 3].map(async () => v.verify(await accessToken(fresh))));
      expect(fresh.fetches).toEqual({ discovery: 1, jwks: 1 });
      expect((await v.discovery()).end_session_endpoint).toBe(`${fresh.url}/oauth/logout`);
      expect(fresh.fetches.discovery).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('[A10] an explicit jwksUri skips discovery', async () => {
    const fresh = await startIssuer();
    try {
      const v = createVerifier({
        issuer: fresh.url,
        audience: AUDIENCE,
        fetch: fresh.fetch,
        jwksUri: `${fresh.url}/jwks`,
      });
      await v.verify(await accessToken(fresh));
      expect(fresh.fetches).toEqual({ discovery: 0, jwks: 1 });
    } finally {
      await fresh.close();
    }
  });

  it('[A10] accepts an EdDSA-signed token', async () => {
    const ed = await makeKey('EdDSA');
    issuer.published.push(ed);
    const v = createVerifier({ issuer: issuer.url, audience: AUDIENCE, fetch: issuer.fetch });
    const identity = await v.verify(await accessToken(issuer, {}, { key: ed }));
    expect(identity.clientId).toBe('product-web');
  });

  it('[A10] refuses a token from another issuer', async () => {
    const err = await refusal(verifier.verify(await accessToken(issuer, { iss: 'https://evil.example.com' })));
    expect([err.code, err.status]).toEqual(['token_invalid', 401]);
  });

  it('[A10] refuses a token for another audience', async () => {
    const err = await refusal(verifier.verify(await accessToken(issuer, { aud: 'https://other-product.test' })));
    expect(err.code).toBe('token_invalid');
  });

  it('[A10] accepts any of several configured audiences, e.g. resource or client_id', async () => {
    const v = createVerifier({ issuer: issuer.url, audience: [AUDIENCE, 'product-web'], fetch: issuer.fetch });
    expect((await v.verify(await accessToken(issuer, { aud: 'product-web' }))).clientId).toBe('product-web');
  });

  it('[A10] refuses an expired token as token_expired, within the clock tolerance it passes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await accessToken(issuer, { iat: now - 1000, exp: now - 60 });
    const err = await refusal(verifier.verify(expired));
    expect([err.code, err.status]).toEqual(['token_expired', 401]);
    await expect(verifier.verify(await accessToken(issuer, { iat: now - 900, exp: now - 2 }))).resolves.toBeTruthy();
  });

  it('[A10] refuses alg none', async () => {
    const token = unsignedToken({ typ: 'at+jwt', kid: issuer.current.kid }, accessClaims(issuer));
    expect((await refusal(verifier.verify(token))).code).toBe('token_invalid');
  });

  it('[A10] refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const publicKey = await importJWK(issuer.current.publicJwk, 'ES256');
    const secrets = [
      new TextEncoder().encode(await exportSPKI(publicKey as CryptoKey)),
      new TextEncoder().encode(JSON.stringify(issuer.current.publicJwk)),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(accessClaims(issuer))
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: issuer.current.kid })
        .sign(secret);
      expect((await refusal(verifier.verify(token))).code).toBe('token_invalid');
    }
  });

  it('[A10] refuses a token typed JWT (an ID token or foreign JWT) instead of at+jwt', async () => {
    for (const typ of ['JWT', 'logout+jwt']) {
      const err = await refusal(verifier.verify(await accessToken(issuer, {}, { typ })));
      expect(err.code).toBe('token_invalid');
    }
    await expect(verifier.verify(await accessToken(issuer, {}, { typ: 'application/at+jwt' }))).resolves.toBeTruthy();
  });

  it('[A10] refuses a token signed by a key the issuer does not publish under a published kid', async () => {
    const forger = await makeKey('ES256', issuer.current.kid);
    expect((await refusal(verifier.verify(await accessToken(issuer, {}, { key: forger })))).code).toBe('token_invalid');
  });

  it('[A10] refuses tokens missing required claims or with claims of the wrong type', async () => {
    for (const overrides of [
      { client_id: undefined },
      { jti: undefined },
      { sub: undefined },
      { exp: undefined },
      { permissions: 'members.read' },
      { amr: [1] },
      { org_id: 42 },
    ]) {
      const err = await refusal(verifier.verify(await accessToken(issuer, overrides)));
      expect(err.code, JSON.stringify(overrides)).toBe('token_invalid');
    }
  });

  it('[A10] refuses garbage and an empty token', async () => {
    expect((await refusal(verifier.verify('not.a.jwt'))).code).toBe('token_invalid');
    expect((await refusal(verifier.verify(''))).code).toBe('token_missing');
  });

  it('[A10] an unknown kid triggers one JWKS refetch and is accepted after rotation', async () => {
    const fresh = await startIssuer();
    try {
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      await v.verify(await accessToken(fresh));
      expect(fresh.fetches.jwks).toBe(1);
      const rotated = await makeKey('ES256');
      fresh.published = [rotated, fresh.current];
      const identity = await v.verify(await accessToken(fresh, {}, { key: rotated }));
      expect(identity.clientId).toBe('product-web');
      expect(fresh.fetches.jwks).toBe(2);
      // Both keys are now cached: no more fetches.
      await v.verify(await accessToken(fresh, {}, { key: rotated }));
      await v.verify(await accessToken(fresh));
      expect(fresh.fetches.jwks).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it('[A10] a kid that stays unknown is refused without hammering the JWKS', async () => {
    const fresh = await startIssuer();
    try {
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      await v.verify(await accessToken(fresh));
      const stranger = await makeKey('ES256');
      const results = await Promise.all(
        Array.from({ length: 10 }, async () => refusal(v.verify(await accessToken(fresh, {}, { key: stranger })))),
      );
      for (let i = 0; i < 10; i++) {
        results.push(await refusal(v.verify(await accessToken(fresh, {}, { key: stranger, kid: randomUUID() }))));
      }
      expect(new Set(results.map((e) => e.code))).toEqual(new Set(['token_invalid']));
      expect(fresh.fetches.jwks).toBe(2); // the first fetch and a single refetch
    } finally {
      await fresh.close();
    }
  });

  it('[A10] a first token with an unknown kid costs one fetch, not two', async () => {
    const fresh = await startIssuer();
    try {
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      const stranger = await makeKey('ES256');
      expect((await refusal(v.verify(await accessToken(fresh, {}, { key: stranger })))).code).toBe('token_invalid');
      expect(fresh.fetches.jwks).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('[A10] a JWKS endpoint that is down is jwks_unavailable (503), not an invalid token', async () => {
    const fresh = await startIssuer();
    try {
      fresh.jwksDown = true;
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      const err = await refusal(v.verify(await accessToken(fresh)));
      expect([err.code, err.status]).toEqual(['jwks_unavailable', 503]);
      // Back up: the next request succeeds (the failure was not cached).
      fresh.jwksDown = false;
      await expect(v.verify(await accessToken(fresh))).resolves.toBeTruthy();
      // Down again while a rotated kid needs a refetch: still 503, not token_invalid.
      fresh.jwksDown = true;
      const rotated = await makeKey('ES256');
      fresh.published.push(rotated);
      const later = await refusal(v.verify(await accessToken(fresh, {}, { key: rotated })));
      expect(later.code).toBe('jwks_unavailable');
    } finally {
      await fresh.close();
    }
  });

  it('[A10] an unreachable issuer is jwks_unavailable (503)', async () => {
    const gone = await startIssuer();
    const token = await accessToken(gone);
    await gone.close();
    const v = createVerifier({ issuer: gone.url, audience: AUDIENCE, fetch: gone.fetch, httpTimeoutMs: 2000 });
    const err = await refusal(v.verify(token));
    expect([err.code, err.status]).toEqual(['jwks_unavailable', 503]);
  });

  it('[A10] an untrusted TLS certificate is jwks_unavailable (the global fetch rejects the test CA)', async () => {
    const v = createVerifier({ issuer: issuer.url, audience: AUDIENCE });
    expect((await refusal(v.verify(await accessToken(issuer)))).code).toBe('jwks_unavailable');
  });

  it('[A10] discovery naming another issuer is refused (jwks_unavailable)', async () => {
    const fresh = await startIssuer();
    try {
      fresh.discoveryOverride = { issuer: 'https://evil.example.com' };
      const v = createVerifier({ issuer: fresh.url, audience: AUDIENCE, fetch: fresh.fetch });
      expect((await refusal(v.verify(await accessToken(fresh)))).code).toBe('jwks_unavailable');
      expect(fresh.fetches.jwks).toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('[A10] refuses to be configured with symmetric or none algorithms', () => {
    for (const algorithms of [['HS256'], ['none'], []]) {
      expect(() => createVerifier({ issuer: issuer.url, audience: AUDIENCE, algorithms: algorithms as never })).toThrow(
        TypeError,
      );
    }
  });
});

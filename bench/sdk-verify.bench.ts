import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createVerifier } from '../packages/node/src/index.js';
import { measure, report } from './measure.js';

/**
 * A10: the SDK's access-token check (signature, issuer, audience, expiry, typ, claims mapped to an
 * identity) against raw jose jwtVerify of the same token with the same key, in the same run.
 */
export async function run(): Promise<void> {
  const issuer = 'https://auth.example.com';
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const token = await new SignJWT({
    client_id: 'analytics',
    scope: 'openid email org',
    org_id: '7d3f8f7e-2b7a-4a7e-9a57-1d2b0f6c9e11',
    org_role: 'admin',
    permissions: ['members.read', 'members.invite'],
    amr: ['pwd', 'mfa'],
    acr: 'urn:rampart:acr:mfa',
    auth_time: Math.floor(Date.now() / 1000),
    sid: 'abc',
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('analytics')
    .setSubject('5b1f2e1c-3a4d-4e5f-8a9b-0c1d2e3f4a5b')
    .setIssuedAt()
    .setJti('j1')
    .setExpirationTime('15m')
    .sign(privateKey);
  // The JWKS is fetched once and cached by both; served from memory so no network is measured.
  const jwks = JSON.stringify({ keys: [jwk] });
  const verifier = createVerifier({
    issuer,
    audience: 'analytics',
    jwksUri: `${issuer}/oidc/jwks`,
    fetch: async () => new Response(jwks, { headers: { 'content-type': 'application/json' } }),
  });
  await verifier.verify(token);

  const baseline = await measure(() =>
    jwtVerify(token, publicKey, { issuer, audience: 'analytics', algorithms: ['ES256'], typ: 'at+jwt' }),
  );
  const subject = await measure(() => verifier.verify(token));
  report('SDK verify (ES256 access token)', subject, baseline, 'raw jose jwtVerify, same token and key');
}

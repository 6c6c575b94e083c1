import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../platform/canonical-json.js';

/*
 * X8: the trust report is signed with Ed25519. The key pair comes from the master key
 * (platform.subkey of SUBKEY_INFO as the seed), so every instance of a deployment signs with the
 * same key and nothing needs storing. Its id is the RFC 7638 thumbprint of the public JWK.
 */

export const SUBKEY_INFO = 'rampart trust report v1';

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface Signature {
  alg: 'EdDSA';
  kid: string;
  /** base64url Ed25519 signature of the canonical JSON of the report. */
  value: string;
}

export interface ReportSigner {
  jwk: PublicJwk;
  sign(report: unknown): Signature;
}

// The PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function thumbprint(x: string): string {
  return createHash('sha256')
    .update(canonicalJson({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
}

export function createReportSigner(seed: Buffer): ReportSigner {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x as string;
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid: thumbprint(x), alg: 'EdDSA', use: 'sig' };
  return {
    jwk,
    sign: (report) => ({
      alg: 'EdDSA',
      kid: jwk.kid,
      value: sign(null, Buffer.from(canonicalJson(report)), privateKey).toString('base64url'),
    }),
  };
}

function publicKeyOf(jwk: Record<string, unknown>): KeyObject {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new Error('the key is not an Ed25519 public key (kty OKP, crv Ed25519)');
  if ('d' in jwk) throw new Error('the published key carries a private part');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

export type VerifyOutcome = { ok: true; kid: string; report: Record<string, unknown> } | { ok: false; reason: string };

/** Checks a signed document `{report, signature}` against a JWKS (or one JWK). */
export function verifySignedReport(document: unknown, keys: unknown): VerifyOutcome {
  const fail = (reason: string): VerifyOutcome => ({ ok: false, reason });
  if (!isObject(document) || !isObject(document.report) || !isObject(document.signature))
    return fail('the document is not a signed trust report ({report, signature})');
  const { report, signature } = document;
  if (signature.alg !== 'EdDSA') return fail(`the signature's algorithm is ${String(signature.alg)}, not EdDSA`);
  if (typeof signature.kid !== 'string' || typeof signature.value !== 'string')
    return fail('the signature has no key id or value');
  const list = isObject(keys) && Array.isArray(keys.keys) ? keys.keys : [keys];
  const jwk = list.find((k): k is Record<string, unknown> => isObject(k) && k.kid === signature.kid);
  if (!jwk) return fail(`no published key has the id ${signature.kid}`);
  let key: KeyObject;
  try {
    key = publicKeyOf(jwk);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (thumbprint(jwk.x as string) !== signature.kid) return fail('the key id is not the thumbprint of the key');
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature.value)) return fail('the signature value is not 64 bytes of base64url');
  let canonical: string;
  try {
    canonical = canonicalJson(report);
  } catch (err) {
    return fail(`the report cannot be encoded: ${(err as Error).message}`);
  }
  if (!verify(null, Buffer.from(canonical), key, Buffer.from(signature.value, 'base64url')))
    return fail('the signature does not match the report: it was changed, or signed with another key');
  return { ok: true, kid: signature.kid, report };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// A real Rampart-shaped issuer for the tests: an HTTPS server on 127.0.0.1 with a certificate made
// at test time, serving discovery and a JWKS that tests can rotate, break, and count fetches of.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import type { FetchLike } from '../src/index.js';

export interface SigningKey {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: 'ES256' | 'EdDSA' = 'ES256', kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-sdk-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fetch that trusts exactly the test CA (no NODE_EXTRA_CA_CERTS, no disabled TLS checks). */
export function fetchTrusting(ca: string): FetchLike {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        { method: init.method, headers: Object.fromEntries(init.headers), ca, signal: init.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') headers.set(name, value);
            }
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
}

export interface TestIssuer {
  url: string;
  fetch: FetchLike;
  /** Keys published in the JWKS. */
  published: SigningKey[];
  /** The key `sign` uses by default. */
  current: SigningKey;
  fetches: { discovery: number; jwks: number };
  /** When true, the JWKS endpoint answers 500 (discovery keeps working). */
  jwksDown: boolean;
  discoveryOverride?: Record<string, unknown>;
  close(): Promise<void>;
}

export async function startIssuer(): Promise<TestIssuer> {
  const tls = makeCertificate();
  const current = await makeKey('ES256');
  let server: Server | undefined;
  const issuer: TestIssuer = {
    url: '',
    fetch: fetchTrusting(tls.cert),
    published: [current],
    current,
    fetches: { discovery: 0, jwks: 0 },
    jwksDown: false,
    close: () => new Promise((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  server = createServer(tls, (req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      issuer.fetches.discovery++;
      return json(200, {
        issuer: issuer.url,
        jwks_uri: `${issuer.url}/jwks`,
        authorization_endpoint: `${issuer.url}/oauth/authorize`,
        token_endpoint: `${issuer.url}/oauth/token`,
        end_session_endpoint: `${issuer.url}/oauth/logout`,
        ...issuer.discoveryOverride,
      });
    }
    if (req.url === '/jwks') {
      issuer.fetches.jwks++;
      if (issuer.jwksDown) return json(500, { error: 'down' });
      return json(200, { keys: issuer.published.map((k) => k.publicJwk) });
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return issuer;
}

export const AUDIENCE = 'https://api.product.test';
export const CLIENT_ID = 'product-web';

export function accessClaims(issuer: TestIssuer, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer.url,
    sub: randomUUID(),
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    client_id: CLIENT_ID,
    scope: 'openid profile',
    sid: randomUUID(),
    auth_time: now - 30,
    acr: 'urn:rampart:acr:pwd',
    amr: ['pwd'],
    org_id: randomUUID(),
    org_role: 'admin',
    permissions: ['members.read', 'api_keys.manage'],
    ...overrides,
  };
}

export interface SignOptions {
  key?: SigningKey;
  typ?: string;
  kid?: string | null;
}

export async function sign(issuer: TestIssuer, claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const key = options.key ?? issuer.current;
  const header: Record<string, string> = { alg: key.alg, typ: options.typ ?? 'at+jwt' };
  const kid = options.kid === undefined ? key.kid : options.kid;
  if (kid !== null) header.kid = kid;
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

export async function accessToken(issuer: TestIssuer, overrides: JWTPayload = {}, options: SignOptions = {}) {
  return sign(issuer, accessClaims(issuer, overrides), options);
}

export function logoutClaims(issuer: TestIssuer, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer.url,
    aud: CLIENT_ID,
    iat: now,
    exp: now + 120,
    jti: randomUUID(),
    sid: randomUUID(),
    sub: randomUUID(),
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    ...overrides,
  };
}

export async function logoutToken(issuer: TestIssuer, overrides: JWTPayload = {}, options: SignOptions = {}) {
  return sign(issuer, logoutClaims(issuer, overrides), { typ: 'logout+jwt', ...options });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`). */
export function unsignedToken(header: Record<string, unknown>, claims: JWTPayload): string {
  return `${b64({ ...header, alg: 'none' })}.${b64(claims)}.`;
}

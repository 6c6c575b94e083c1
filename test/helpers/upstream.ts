import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { CustomFetch } from 'openid-client';

/*
 * A7 tests: a real upstream OpenID provider (a second oidc-provider instance) over real HTTPS on
 * loopback, with a self-signed certificate made here. Rampart trusts it through openid-client's
 * customFetch holding this CA; nothing turns TLS verification off.
 */

import type { TestCertificate } from './certificates.js';
export { makeCertificate, type TestCertificate } from './certificates.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS request that trusts `ca` (and only it), following no redirect. */
export function httpsRequest(
  ca: Buffer,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/** A fetch for openid-client that trusts the test CA: node:https underneath, verification on. */
export function fetchTrusting(ca: Buffer): CustomFetch {
  return async (url, options) => {
    let body: string | Buffer | undefined;
    if (typeof options.body === 'string') body = options.body;
    else if (options.body instanceof URLSearchParams) body = options.body.toString();
    else if (options.body instanceof ArrayBuffer || ArrayBuffer.isView(options.body))
      body = Buffer.from(options.body as ArrayBuffer);
    else if (options.body != null) throw new Error('unexpected request body type in the test fetch');
    const raw = await httpsRequest(ca, url, { method: options.method, headers: options.headers, body });
    const headers = new Headers();
    for (const [k, v] of Object.entries(raw.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
    }
    const empty = raw.status === 204 || raw.status === 304 || (raw.status >= 300 && raw.status < 400);
    return new Response(empty ? null : new Uint8Array(raw.body), { status: raw.status, headers });
  };
}

export interface UpstreamPerson {
  sub: string;
  email?: string;
  email_verified?: boolean;
}

export interface Upstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The person who signs in at the upstream on the next authorization (its interaction page logs them in). */
  signInAs(person: UpstreamPerson): void;
  /**
   * A browser at the upstream: from the authorization URL Rampart sent it to, through the upstream's sign-in,
   * to the redirect back to Rampart (returned, not followed). Keeps its own upstream cookies.
   */
  browser(): { authorize(url: string): Promise<URL> };
  close(): Promise<void>;
}

/** Starts the upstream: an oidc-provider over HTTPS on 127.0.0.1 with one confidential client. */
export async function startUpstream(opts: { certificate: TestCertificate; redirectUris: string[] }): Promise<Upstream> {
  const { default: Provider } = await import('oidc-provider');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'upstream-test-key', alg: 'ES256', use: 'sig' };
  const clientId = 'rampart-test';
  const clientSecret = 'upstream-test-secret-0123456789abcdef';
  const people = new Map<string, UpstreamPerson>();
  let next: UpstreamPerson | undefined;

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = https.createServer({ cert: opts.certificate.cert, key: opts.certificate.key }, (req, res) =>
    handler(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk as never] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'email'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['upstream-test-cookie-key'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const person = people.get(id);
      if (!person) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          ...(person.email !== undefined ? { email: person.email } : {}),
          ...(person.email_verified !== undefined ? { email_verified: person.email_verified } : {}),
        }),
      };
    },
  });
  const callback = provider.callback();

  // The upstream's own sign-in page, reduced to "this person signs in and agrees".
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const person = next;
    if (!person) throw new Error('the test did not say who signs in upstream (signInAs)');
    people.set(person.sub, person);
    const grant = new provider.Grant({ accountId: person.sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope('openid email');
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: person.sub }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    callback(req, res);
  };

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(person) {
      next = person;
    },
    browser() {
      const jar = new Map<string, string>();
      return {
        async authorize(start) {
          let url = new URL(start);
          for (let hop = 0; hop < 10; hop++) {
            if (url.origin !== issuer) return url;
            const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
            const res = await httpsRequest(opts.certificate.cert, url.href, { headers: cookie ? { cookie } : {} });
            const setCookies = res.headers['set-cookie'] ?? [];
            for (const c of Array.isArray(setCookies) ? setCookies : [setCookies]) {
              const [pair] = c.split(';');
              const eq = pair!.indexOf('=');
              const [name, value] = [pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim()];
              if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
              else jar.set(name, value);
            }
            const location = res.headers.location;
            if (res.status < 300 || res.status >= 400 || typeof location !== 'string') {
              const text = res.body.toString();
              const why = /<pre>[\s\S]*?<\/pre>/.exec(text)?.[0] ?? text.slice(-800);
              throw new Error(`upstream answered ${res.status} at ${url.pathname}: ${why}`);
            }
            url = new URL(location, url);
          }
          throw new Error('too many redirects at the upstream');
        },
      };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

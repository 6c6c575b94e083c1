import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { httpsRequest, type TestCertificate } from './upstream.js';

/*
 * A7 (vault connections): a real OAuth 2.0 authorization server (oidc-provider) over HTTPS on
 * loopback: authorization code with PKCE required, refresh tokens (rotated), RFC 7009 revocation and
 * RFC 7662 introspection. Its token endpoint counts the grants it answers, by grant type.
 */

export const API_RESOURCE = 'https://api.vault-test.example';
export const API_SCOPE = 'api:read';

export interface OauthUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Token endpoint answers so far, by grant type ('authorization_code', 'refresh_token'), success or not. */
  grants: Record<string, number>;
  /** From the authorization URL to the redirect back to Rampart (returned, not followed); `deny`: refuse. */
  authorize(url: string, opts?: { deny?: boolean }): Promise<URL>;
  /** RFC 7662 at the provider: whether the token is active. */
  introspect(token: string): Promise<boolean>;
  /** RFC 7009 at the provider, as the client (tests revoke a grant behind Rampart's back). */
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

export async function startOauthUpstream(opts: {
  certificate: TestCertificate;
  redirectUri: string;
  accessTokenTtlSec?: number;
}): Promise<OauthUpstream> {
  const { default: Provider } = await import('oidc-provider');
  const clientId = 'rampart-vault-test';
  const clientSecret = 'vault-upstream-test-secret-0123456789';
  const grants: Record<string, number> = {};
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = https.createServer({ cert: opts.certificate.cert, key: opts.certificate.key }, (req, res) =>
    handler(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  const denied = new Set<string>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    scopes: [API_SCOPE],
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: API_SCOPE,
          audience: API_RESOURCE,
          accessTokenTTL: opts.accessTokenTtlSec ?? 3600,
          accessTokenFormat: 'opaque',
        }),
      },
    },
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
    cookies: { keys: ['vault-upstream-test-cookie-key'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  });
  const count = (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => {
    const type = String(ctx.oidc?.params?.grant_type ?? 'unknown');
    grants[type] = (grants[type] ?? 0) + 1;
  };
  provider.on('grant.success', count);
  provider.on('grant.error', count);
  const callback = provider.callback();

  // The provider's sign-in and consent, reduced to "this person agrees" (or refuses).
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (denied.has(details.uid)) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'refused' });
      return;
    }
    const grant = new provider.Grant({ accountId: 'person-1', clientId: String(details.params.client_id) });
    grant.addOIDCScope(API_SCOPE);
    grant.addResourceScope(API_RESOURCE, API_SCOPE);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: 'person-1' }, consent: { grantId } },
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

  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const post = (path: string, body: Record<string, string>) =>
    httpsRequest(opts.certificate.cert, `${issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });

  return {
    issuer,
    clientId,
    clientSecret,
    grants,
    async authorize(start, { deny = false } = {}) {
      const jar = new Map<string, string>();
      let url = new URL(start);
      for (let hop = 0; hop < 10; hop++) {
        if (url.origin !== issuer) return url;
        if (deny && url.pathname.startsWith('/interaction/')) denied.add(url.pathname.split('/')[2]!);
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
        if (res.status < 300 || res.status >= 400 || typeof location !== 'string')
          throw new Error(`provider answered ${res.status} at ${url.pathname}: ${res.body.toString().slice(-800)}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects at the provider');
    },
    async introspect(token) {
      const res = await post('/token/introspection', { token });
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
      return JSON.parse(res.body.toString()).active === true;
    },
    async revoke(token) {
      const res = await post('/token/revocation', { token });
      if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

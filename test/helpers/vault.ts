import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOperatorTokens } from '../../src/operator/index.js';
import type { Overrides } from '../../src/feature.js';
import { FEATURES } from '../../src/features.js';
import { captureContext, createTestApp, type TestApp } from './app.js';
import { makeCertificate, type TestCertificate } from './certificates.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A third-party API on loopback HTTPS, as a provider: `/v1/me` answers 200 to a key it accepts and
 * 401 to others, `/v1/down` 503, `/redirect` sends elsewhere, `/slow` never answers, `/big` is large,
 * `/echo` answers with what it got. It records every request.
 */
export class TestProvider {
  readonly seen: SeenRequest[] = [];
  /** Keys (or user:password pairs) the provider accepts now. */
  readonly accepted = new Set<string>();
  private server!: Server;
  cert!: TestCertificate;
  port = 0;

  get host() {
    return `localhost:${this.port}`;
  }

  /** The credential a request presented, whichever way. */
  static presented(headers: IncomingHttpHeaders, url: URL, authName = 'x-api-key'): string | undefined {
    const auth = headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice(7);
    if (auth?.startsWith('Basic ')) return Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const h = headers[authName.toLowerCase()];
    if (typeof h === 'string') return h;
    return url.searchParams.get('api_key') ?? undefined;
  }

  async start(): Promise<this> {
    this.cert = makeCertificate();
    this.server = createServer({ cert: this.cert.cert, key: this.cert.key }, async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const url = new URL(req.url ?? '/', 'https://localhost');
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const key = TestProvider.presented(req.headers, url);
      switch (url.pathname) {
        case '/v1/me':
          res.writeHead(key && this.accepted.has(key) ? 200 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: Boolean(key && this.accepted.has(key)) }));
          return;
        case '/v1/down':
          res.writeHead(503).end('down');
          return;
        case '/redirect':
          res.writeHead(302, { location: 'https://elsewhere.example/steal' }).end();
          return;
        case '/slow':
          return; // never answers
        case '/big':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(200_000));
          return;
        case '/binary':
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0xff, 0xfe, 0x00, 0x81]));
          return;
        default:
          res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'tracker=1', 'x-provider': 'test' });
          res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An operator token's calls to the provider registry (bearer only, as a deploy script would). */
export async function providerAdmin(t: TestApp) {
  const { token } = await createOperatorTokens({ db: t.db, clock: t.clock }).create(
    `vault-${randomBytes(6).toString('hex')}`,
  );
  const op = (method: string, url: string, payload?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url,
      payload: payload as object,
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: '192.0.2.80',
    });
  return {
    op,
    /** A provider on the test server; returns its id. */
    async provider(id: string, server: TestProvider, body: Record<string, unknown> = {}) {
      const res = await op('PUT', `/api/v1/operator/vault/providers/${id}`, {
        name: `Provider ${id}`,
        kind: 'api_key',
        allowedHosts: [server.host],
        authStyle: 'bearer',
        validation: { method: 'GET', path: '/v1/me' },
        ...body,
      });
      if (res.statusCode !== 200) throw new Error(`provider ${id}: ${res.statusCode} ${res.body}`);
      return id;
    },
  };
}

/** A key-looking secret, unique per call. */
let n = 0;
export const freshSecret = (prefix = 'sk_live_') =>
  `${prefix}${(++n).toString(36)}${randomBytes(24).toString('base64url')}${Date.now().toString(36)}Zq9`;

/** A test app whose connections trust the test provider's certificate, with the feature context kept. */
export async function vaultTestApp(
  server: TestProvider,
  opts: { overrides?: Overrides; env?: Record<string, string | undefined> } = {},
) {
  const { feature: capture, ctx } = captureContext();
  const t = await createTestApp(opts.env ?? {}, undefined, {
    features: [...FEATURES, capture],
    overrides: {
      vaultOutbound: { ca: server.cert.cert, timeoutMs: 1500, maxResponseBytes: 50_000 },
      ...opts.overrides,
    },
  });
  return { t, ctx, vault: () => ctx().use('vault') };
}

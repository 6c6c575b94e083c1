import https from 'node:https';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import type { Config } from '../config.js';
import { header, type ProbeResponse, type SelfProbe } from './probe.js';

/*
 * T1 and T2, read from the running listener: its TLS options, and the headers and redirects a
 * client gets. Behind a trusted proxy, TLS is the proxy's: T1 is then not configured here, and T2
 * checks that X-Forwarded-Proto is believed from the proxy and from no one else.
 */

const pass = (detail: string): TrustVerdict => ({ status: 'passing', detail });
const fail = (detail: string): TrustVerdict => ({ status: 'failing', detail });
const notConfigured = (detail: string): TrustVerdict => ({ status: 'not_configured', detail });

const MODERN_TLS12 = /^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/;
const TLS13 = /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/;
const PROTOCOL_RANK: Record<string, number> = { TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };
const NO_TLS =
  'This instance serves plain HTTP: set RAMPART_TLS_CERT and RAMPART_TLS_KEY, or terminate TLS at a proxy and ' +
  'list its address in RAMPART_TRUSTED_PROXIES.';

type Listener = () => http.Server | tls.Server;

/** T1 from a TLS server's own options (what it negotiates with). */
export function tlsOptionsVerdict(server: tls.Server): TrustVerdict {
  const s = server as tls.Server & { minVersion?: string; maxVersion?: string; ciphers?: string };
  const min = s.minVersion ?? tls.DEFAULT_MIN_VERSION;
  if ((PROTOCOL_RANK[min] ?? 0) < PROTOCOL_RANK['TLSv1.2']!)
    return fail(`the listener accepts ${min}: the lowest protocol must be TLSv1.2`);
  if (!s.ciphers) return fail("the listener's cipher suites are Node's defaults, not a pinned modern list");
  const weak = s.ciphers.split(':').filter((c) => !MODERN_TLS12.test(c) && !TLS13.test(c));
  if (weak.length > 0) return fail(`the listener offers suites without forward secrecy or AEAD: ${weak.join(', ')}`);
  return pass(`lowest protocol ${min}; TLS 1.2 suites ${s.ciphers.split(':').length}, all ECDHE with AEAD`);
}

export function tlsCheck(listener: Listener, config: Config): TrustCheck {
  return {
    control: 'T1',
    id: 'tls-listener',
    title: 'The TLS listener accepts TLS 1.2 or 1.3 only, with modern cipher suites',
    async run() {
      const server = listener();
      if (server instanceof tls.Server) return tlsOptionsVerdict(server);
      if (config.trustedProxies.length > 0)
        return notConfigured(
          `TLS is terminated by the trusted proxy (RAMPART_TRUSTED_PROXIES=${config.trustedProxies.join(',')}): ` +
            'its protocols and suites are set there; set RAMPART_TLS_CERT and RAMPART_TLS_KEY to have Rampart ' +
            'terminate TLS itself.',
        );
      return notConfigured(NO_TLS);
    },
  };
}

/** T2: the HSTS header of a response, at least a year with includeSubDomains. */
export function hstsProblem(res: ProbeResponse): string | undefined {
  const value = header(res.headers, 'strict-transport-security');
  if (!value) return 'the HTTPS response carries no Strict-Transport-Security header';
  const maxAge = /(?:^|;)\s*max-age=(\d+)/i.exec(value);
  if (!maxAge || Number(maxAge[1]) < 31_536_000) return `HSTS max-age is under one year (${value})`;
  if (!/(?:^|;)\s*includeSubDomains\s*(?:;|$)/i.test(value)) return `HSTS lacks includeSubDomains (${value})`;
  return undefined;
}

function get(
  module: typeof http | typeof https,
  options: https.RequestOptions,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = module.get({ ...options, timeout: 5000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
  });
}

const untrustedAddress = (proxies: readonly string[]) =>
  ['203.0.113.77', '198.51.100.77', '192.0.2.77'].find((a) => !proxies.includes(a)) ?? '203.0.113.77';

/** A trusted proxy's address (a range gives its first address). */
const proxyAddress = (entry: string) => entry.split('/')[0]!;

export function hstsCheck(listener: Listener, config: Config, probe: () => SelfProbe): TrustCheck {
  return {
    control: 'T2',
    id: 'https-hsts',
    title: 'HTTPS responses carry HSTS for a year with subdomains; plain HTTP is sent to HTTPS',
    async run() {
      const server = listener();
      if (server instanceof tls.Server) {
        if (!server.listening) return fail('the HTTPS listener is not accepting connections');
        const { port } = server.address() as AddressInfo;
        // Our own listener on loopback, for its headers only: nothing is sent that a certificate would protect.
        const res = await get(https, { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false });
        const problem = hstsProblem({ status: res.status, headers: res.headers, body: '' });
        if (problem) return fail(problem);
        const plain = await get(http, { host: '127.0.0.1', port: config.httpRedirectPort, path: '/trust' }).catch(
          (err: Error) => err,
        );
        if (plain instanceof Error)
          return fail(`the plain HTTP port ${config.httpRedirectPort} does not answer: ${plain.message}`);
        const origin = new URL(config.baseUrl).origin;
        if (plain.status !== 308 || plain.headers.location !== `${origin}/trust`)
          return fail(`plain HTTP answered ${plain.status}, not a 308 to ${origin}`);
        return pass(`HSTS "${res.headers['strict-transport-security']}"; plain HTTP gets 308 to ${origin}`);
      }
      if (config.trustedProxies.length === 0) return notConfigured(NO_TLS);
      if (config.trustedProxies.some((p) => p === '0.0.0.0/0' || p === '::/0'))
        return fail('RAMPART_TRUSTED_PROXIES trusts every address: anyone can claim X-Forwarded-Proto');
      const viaProxy = await probe().request('/healthz', {
        headers: { 'x-forwarded-proto': 'https' },
        remoteAddress: proxyAddress(config.trustedProxies[0]!),
      });
      const problem = hstsProblem(viaProxy);
      if (problem) return fail(`through the trusted proxy: ${problem}`);
      const stranger = untrustedAddress(config.trustedProxies);
      const forged = await probe().request('/healthz', {
        headers: { 'x-forwarded-proto': 'https' },
        remoteAddress: stranger,
      });
      if (header(forged.headers, 'strict-transport-security'))
        return fail(`X-Forwarded-Proto was believed from ${stranger}, which is not a trusted proxy`);
      return pass(
        `HSTS through the trusted proxy; X-Forwarded-Proto from other addresses (${stranger}) is not believed`,
      );
    },
  };
}

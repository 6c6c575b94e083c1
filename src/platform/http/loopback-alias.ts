import type { FastifyInstance } from 'fastify';
import { httpsLocation } from './security-headers.js';

/** localhost, 127.0.0.0/8 and ::1 (brackets already stripped). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function hostAndPort(authority: string, scheme: string): { hostname: string; port: string } | undefined {
  try {
    const url = new URL(`${scheme}//${authority}`);
    return { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port };
  } catch {
    return undefined;
  }
}

/**
 * Dev mode on a loopback base URL only: a browser that opens this port under another loopback name
 * (http://127.0.0.1:3000 or http://[::1]:3000 while RAMPART_BASE_URL is http://localhost:3000) is
 * sent to the base URL. There its forms pass the Origin check (R1), which stays exact; its `__Host-`
 * cookies are kept, passkeys find their relying party, and links in mail lead back to the same site.
 * Only page navigations move (Sec-Fetch-Mode: navigate), with a temporary redirect: API clients,
 * scripts and probes on 127.0.0.1 are answered where they asked. The target comes from configuration,
 * never from the request.
 */
export function loopbackAliasRedirect(app: FastifyInstance, opts: { baseUrl: string }): void {
  const base = new URL(opts.baseUrl);
  const baseHost = base.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(baseHost)) throw new Error('loopbackAliasRedirect needs a loopback base URL');

  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    if (request.headers['sec-fetch-mode'] !== 'navigate') return;
    const asked = hostAndPort(request.headers.host ?? '', base.protocol);
    if (!asked || asked.port !== base.port || asked.hostname === baseHost || !isLoopbackHost(asked.hostname)) return;
    return reply.redirect(httpsLocation(base.origin, request.url), 307);
  });
}

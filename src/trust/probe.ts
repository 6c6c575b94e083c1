import type { FastifyInstance } from 'fastify';
import type { TrustProbe } from '../feature.js';

export interface ProbeInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The peer address the request comes from (default loopback): trusted-proxy checks use it. */
  remoteAddress?: string;
}

export type ProbeResponse = Awaited<ReturnType<TrustProbe['request']>>;

/** The probe the trust feature's own checks use: a body and a peer address besides the contract's. */
export interface SelfProbe extends TrustProbe {
  request(path: string, init?: ProbeInit): Promise<ProbeResponse>;
}

/** Real requests through the whole app, in process (every hook, route and error handler). */
export function injectProbe(app: FastifyInstance): SelfProbe {
  return {
    async request(path, init = {}) {
      if (!path.startsWith('/')) throw new Error('a probe requests a path of this instance');
      const res = await app.inject({
        method: (init.method ?? 'GET') as 'GET',
        url: path,
        headers: init.headers,
        payload: init.body,
        remoteAddress: init.remoteAddress ?? '127.0.0.1',
      });
      const headers: ProbeResponse['headers'] = {};
      for (const [name, value] of Object.entries(res.headers))
        headers[name] = typeof value === 'number' ? String(value) : value;
      return { status: res.statusCode, headers, body: res.body };
    },
  };
}

/** Set-Cookie headers of a response, each as its name and lower-cased attributes. */
export function cookiesOf(
  headers: ProbeResponse['headers'],
): { name: string; value: string; attributes: Map<string, string> }[] {
  const raw = headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return lines.map((line) => {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const attributes = new Map<string, string>();
    for (const a of attrs) {
      const i = a.indexOf('=');
      const key = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
      attributes.set(key, i < 0 ? '' : a.slice(i + 1).trim());
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
  });
}

export const header = (headers: ProbeResponse['headers'], name: string): string | undefined => {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
};

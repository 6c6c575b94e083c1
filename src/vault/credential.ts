import type { VaultAuthStyle } from '../platform/db/tables.js';
import type { OutboundFetch } from '../platform/outbound-fetch.js';
import { vaultError } from './errors.js';

/** The opened secret fields of one connection, as bytes wiped after use. */
export type OpenedFields = Map<string, Buffer>;

export interface Presentation {
  style: VaultAuthStyle;
  /** The header or query parameter name (header and query styles). */
  name: string | null;
}

/** What a request carries of the credential: a header to set, or a query parameter to add. */
function credentialPart(p: Presentation, fields: OpenedFields): { header?: [string, string]; query?: [string, string] } {
  const field = (name: string) => {
    const v = fields.get(name);
    if (!v) throw new Error(`the connection has no ${name}`);
    return v.toString('utf8');
  };
  switch (p.style) {
    case 'bearer':
      return { header: ['authorization', `Bearer ${field(fields.has('access_token') ? 'access_token' : 'api_key')}`] };
    case 'basic': {
      const pair = Buffer.concat([fields.get('username') ?? Buffer.alloc(0), Buffer.from(':'), fields.get('password')!]);
      try {
        return { header: ['authorization', `Basic ${pair.toString('base64')}`] };
      } finally {
        pair.fill(0);
      }
    }
    case 'header':
      return { header: [p.name!.toLowerCase(), field('api_key')] };
    case 'query':
      return { query: [p.name!, field('api_key')] };
  }
}

/**
 * The fetch `fn` is handed: each request gets the credential added as the provider presents it.
 * Headers of the caller with the credential's name are dropped, so a caller cannot replace or read it.
 */
export function presentingFetch(
  inner: OutboundFetch,
  allowedHosts: readonly string[],
  p: Presentation,
  fields: OpenedFields,
  observe: (url: URL, method: string, outcome: { status?: number; error?: string }) => Promise<void>,
): OutboundFetch {
  return async (target, init = {}) => {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw vaultError('connection_host_not_allowed', { message: 'That is not an absolute URL.' });
    }
    const method = (init.method ?? 'GET').toUpperCase();
    // The exact host and port must be one the operator allowed (the fetch itself checks names and addresses).
    if (!allowedHosts.includes(url.host)) {
      await observe(url, method, { error: 'host_not_allowed' });
      throw vaultError('connection_host_not_allowed');
    }
    const part = credentialPart(p, fields);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers ?? {}))
      if (k.toLowerCase() !== part.header?.[0] && k.toLowerCase() !== 'authorization') headers[k] = v;
    if (part.header) headers[part.header[0]] = part.header[1];
    const sent = new URL(url);
    if (part.query) sent.searchParams.set(part.query[0], part.query[1]);
    try {
      const res = await inner(sent.toString(), { ...init, method, headers });
      await observe(url, method, { status: res.status });
      // The response names the URL asked for, never the one that carried a query credential.
      return part.query ? { ...res, url: url.toString() } : res;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const reason = typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : 'request_failed';
      await observe(url, method, { error: reason });
      // A fresh error: the original may quote the URL (a query credential) or the request.
      throw vaultError('connection_request_failed', {
        message: `The request to the connection's provider failed (${reason}).`,
      });
    }
  };
}

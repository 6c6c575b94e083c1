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
function credentialPart(
  p: Presentation,
  fields: OpenedFields,
): { header?: [string, string]; query?: [string, string] } {
  // The provider's auth style changed since the key was pasted (bearer to basic): the key no longer fits.
  const misfit = () =>
    vaultError('connection_unreadable', {
      message: "This connection's key does not fit how its provider now takes keys: replace the key.",
    });
  const field = (name: string) => {
    const v = fields.get(name);
    if (!v) throw misfit();
    return v.toString('utf8');
  };
  switch (p.style) {
    case 'bearer':
      return { header: ['authorization', `Bearer ${field(fields.has('access_token') ? 'access_token' : 'api_key')}`] };
    case 'basic': {
      const password = fields.get('password');
      if (!password) throw misfit();
      const pair = Buffer.concat([fields.get('username') ?? Buffer.alloc(0), Buffer.from(':'), password]);
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
    let res: Awaited<ReturnType<OutboundFetch>>;
    try {
      res = await inner(sent.toString(), { ...init, method, headers });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const reason = typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : 'request_failed';
      await observe(url, method, { error: reason });
      // A fresh error: the original may quote the URL (a query credential) or the request.
      throw vaultError('connection_request_failed', {
        message: `The request to the connection's provider failed (${reason}).`,
      });
    }
    await observe(url, method, { status: res.status });
    return redacted(res, url, secretForms(part, fields));
  };
}

const REDACTED = Buffer.from('[redacted]');

/** Every form the credential may take on the wire: as stored, URL-encoded, and as the header carries it. */
function secretForms(part: { header?: [string, string]; query?: [string, string] }, fields: OpenedFields): Buffer[] {
  const forms = new Set<string>();
  for (const v of fields.values()) {
    const s = v.toString('utf8');
    if (s.length >= 4) forms.add(s).add(encodeURIComponent(s));
  }
  if (part.header) forms.add(part.header[1]);
  return [...forms].map((f) => Buffer.from(f)).sort((a, b) => b.length - a.length);
}

function replaceAll(body: Buffer, needle: Buffer): Buffer {
  let at = body.indexOf(needle);
  if (at < 0) return body;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(body.subarray(from, at), REDACTED);
    from = at + needle.length;
    at = body.indexOf(needle, from);
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

/**
 * A provider that echoes the request (an error page quoting the URL, a debug endpoint) would hand
 * the credential back: it is cut out of the body and headers before `fn` sees the answer.
 */
function redacted(
  res: Awaited<ReturnType<OutboundFetch>>,
  url: URL,
  forms: Buffer[],
): Awaited<ReturnType<OutboundFetch>> {
  let body = res.body;
  for (const f of forms) body = replaceAll(body, f);
  const headers: typeof res.headers = {};
  for (const [k, v] of Object.entries(res.headers)) {
    const clean = (x: string) => forms.reduce((acc, f) => acc.split(f.toString()).join('[redacted]'), x);
    headers[k] = clean(v);
  }
  return {
    ...res,
    // The URL asked for, never the one that carried a query credential.
    url: url.toString(),
    headers,
    body,
    text: () => body.toString('utf8'),
    json: () => JSON.parse(body.toString('utf8')),
  };
}

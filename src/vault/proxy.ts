import type { Actor, OrgService } from '../orgs/index.js';
import { actorRef } from '../orgs/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { vaultError } from './errors.js';
import type { VaultService } from './service.js';

export const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

export interface ProxyRequest {
  purpose: string;
  method: (typeof PROXY_METHODS)[number];
  path: string;
  host?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyBase64?: string;
}

/** Headers a caller may never set: the credential's own, the connection's, and routing. */
const REFUSED_HEADER = /^(authorization|cookie|host|proxy-.*|content-length|transfer-encoding|connection|te|upgrade)$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The product-facing proxy: one request to the connection's provider, the credential added on the way. */
export async function sendThrough(
  deps: { orgs: OrgService; vault: VaultService },
  actor: Actor,
  orgId: string,
  connectionId: string,
  input: ProxyRequest,
  context?: RequestContext,
): Promise<ProxyResponse> {
  // The permission first: an outsider cannot spend an organization's allowance (useCredential counts it).
  await deps.orgs.withPermission(actor, orgId, 'connections.use', async () => undefined);
  const refused = Object.keys(input.headers ?? {}).filter((h) => REFUSED_HEADER.test(h));
  if (refused.length)
    throw vaultError('connection_header_refused', {
      fields: refused.map((h) => ({ field: `headers.${h.slice(0, 60)}`, message: 'may not be set' })),
    });
  return deps.vault.useCredential(
    orgId,
    connectionId,
    input.purpose,
    async (fetch, { hosts }) => {
      const host = input.host ?? hosts[0]!;
      if (!hosts.includes(host)) throw vaultError('connection_host_not_allowed');
      const url = new URL(`https://${host}`);
      url.pathname = input.path;
      for (const [k, v] of Object.entries(input.query ?? {})) url.searchParams.append(k, v);
      const res = await fetch(url.toString(), { method: input.method, headers: input.headers, body: input.body });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (k.toLowerCase() !== 'set-cookie') headers[k] = v;
      try {
        return { status: res.status, headers, body: utf8.decode(res.body) };
      } catch {
        return { status: res.status, headers, body: '', bodyBase64: res.body.toString('base64') };
      }
    },
    { actor: actorRef(actor), context },
  );
}

import type * as oidc from 'openid-client';
import { createOutboundFetch, type OutboundPolicy, policyHostOf } from '../platform/outbound-fetch.js';

/**
 * T3 and D1: openid-client's requests to a provider (code exchange, refresh, revocation carry the client
 * secret and tokens) go through the outbound fetch: only to the hosts of its configured endpoints, to a
 * vetted and pinned address, over verified HTTPS (with RAMPART_OUTBOUND_CA_FILE), in a time and size budget.
 */
export function providerFetch(
  endpoints: readonly (string | null | undefined)[],
  policy: Omit<OutboundPolicy, 'allowedHosts'>,
): oidc.CustomFetch {
  const allowedHosts = [...new Set(endpoints.filter((u): u is string => Boolean(u)).map(policyHostOf))];
  const outbound = createOutboundFetch({ ...policy, allowedHosts });
  return async (url, options) => {
    const res = await outbound(url, { method: options.method, headers: options.headers, body: bodyOf(options.body) });
    // Redirects are not followed across hosts; openid-client treats any 3xx as the error it is.
    const empty = res.status === 204 || res.status === 304 || (res.status >= 300 && res.status < 400);
    return new Response(empty ? null : new Uint8Array(res.body), { status: res.status, headers: res.headers });
  };
}

function bodyOf(body: oidc.FetchBody): string | Buffer | undefined {
  if (body == null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('a streamed request body is not sent to a provider');
}

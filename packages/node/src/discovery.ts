import { RampartAuthError } from './errors.js';
import type { FetchLike } from './fetch.js';

/** The fields of `<issuer>/.well-known/openid-configuration` the SDK and products use. */
export interface RampartDiscovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
  introspection_endpoint?: string;
  [name: string]: unknown;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches and checks the discovery document. The document's `issuer` must equal the configured
 * one exactly (OpenID Connect Discovery §4.3), or a look-alike server could hand out its own keys.
 * Any failure is `jwks_unavailable` (503): the keys cannot be located, the token is not at fault.
 */
export async function fetchDiscovery(
  issuer: string,
  fetchImpl: FetchLike,
  timeoutMs: number,
): Promise<RampartDiscovery> {
  const url = discoveryUrl(issuer);
  let doc: unknown;
  try {
    const response = await fetchImpl(url, {
      method: 'GET',
      headers: new Headers({ accept: 'application/json' }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) throw new Error(`discovery answered HTTP ${response.status}`);
    doc = await response.json();
  } catch (cause) {
    throw new RampartAuthError('jwks_unavailable', `OpenID discovery at ${url} failed`, { cause });
  }
  if (typeof doc !== 'object' || doc === null) {
    throw new RampartAuthError('jwks_unavailable', `OpenID discovery at ${url} is not a JSON object`);
  }
  const { issuer: docIssuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
  if (docIssuer !== issuer) {
    throw new RampartAuthError('jwks_unavailable', `OpenID discovery at ${url} names another issuer`);
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new RampartAuthError('jwks_unavailable', `OpenID discovery at ${url} has no valid jwks_uri`);
  }
  return doc as RampartDiscovery;
}

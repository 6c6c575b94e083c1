import * as oidc from 'openid-client';
import { open } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import { AppError } from '../platform/errors.js';
import { outboundProblem } from '../platform/outbound.js';
import type { OutboundPolicy } from '../platform/outbound-fetch.js';
import { providerFetch } from './oauth-fetch.js';
import { oauthError } from './oauth-errors.js';
import type { OauthProviderRow } from './oauth-repository.js';
import { providerSecretContext } from './sealing.js';

/* openid-client toward one configured provider (A7, T3), and how its failures are told apart and logged. */

const PROVIDER_TIMEOUT_SEC = 10;

/** openid-client's configuration of a provider, from its row (endpoints are configured, not discovered). */
export function providerConfig(
  p: OauthProviderRow,
  deps: { keyring: Keyring; dev: boolean; outbound: Omit<OutboundPolicy, 'allowedHosts' | 'dev'> },
  issuer?: string,
): oidc.Configuration {
  const endpoints = [p.oauth_authorization_endpoint, p.oauth_token_endpoint, p.oauth_revocation_endpoint];
  for (const url of endpoints) {
    const problem = url && outboundProblem(url, { dev: deps.dev });
    if (problem) throw oauthError('oauth_provider_unreachable', { message: `The provider's endpoint ${problem}.` });
  }
  const authorization = p.oauth_authorization_endpoint!;
  const secret = p.oauth_client_secret_sealed
    ? open(deps.keyring, p.oauth_client_secret_sealed, providerSecretContext(p.id)).toString('utf8')
    : undefined;
  const config = new oidc.Configuration(
    {
      issuer: issuer ?? new URL(authorization).origin,
      authorization_endpoint: authorization,
      token_endpoint: p.oauth_token_endpoint!,
      ...(p.oauth_revocation_endpoint ? { revocation_endpoint: p.oauth_revocation_endpoint } : {}),
    },
    p.oauth_client_id!,
    undefined,
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
  );
  config[oidc.customFetch] = providerFetch(endpoints, { ...deps.outbound, dev: deps.dev });
  config.timeout = PROVIDER_TIMEOUT_SEC;
  // Dev mode only, and only toward this machine (outboundProblem refused anything else above).
  if (deps.dev && endpoints.some((u) => u?.startsWith('http:'))) oidc.allowInsecureRequests(config);
  return config;
}

export type TokenSet = oidc.TokenEndpointResponse;

/** A refusal the provider will not change its mind about: a connection to make again. */
export class Refusal extends Error {}

export function refusalOf(err: unknown): string | undefined {
  if (err instanceof Refusal) return err.message;
  if (err instanceof oidc.ResponseBodyError && ['invalid_grant', 'unauthorized_client'].includes(err.error))
    return `the provider refused the refresh (${err.error})`;
  return undefined;
}

export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** What a failure is logged with: the library's code and message, never a token. */
export function describe(err: unknown): { name?: string; code?: unknown; message?: string; error?: string } {
  if (err instanceof AppError) return { name: err.name, code: err.code };
  if (err instanceof oidc.ResponseBodyError) return { name: err.name, code: err.code, error: err.error };
  if (typeof err === 'object' && err !== null) {
    const { name, code, message } = err as { name?: unknown; code?: unknown; message?: unknown };
    return { name: String(name), code, message: String(message).slice(0, 300) };
  }
  return { message: String(err).slice(0, 300) };
}

import { RampartAuthError } from './errors.js';
import { hasPermissions, type RampartIdentity } from './identity.js';
import { ACR_MFA } from './identity.js';
import type { RevocationChecker } from './revocations.js';
import type { RampartVerifier } from './verifier.js';

/** Shared by the Fastify and Express adapters: token extraction, outcome, and error answers. */

export interface AuthenticateOptions {
  verifier: RampartVerifier;
  revocations?: RevocationChecker;
}

export interface AuthOutcome {
  identity: RampartIdentity | null;
  error: RampartAuthError | null;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or null. */
export function bearerToken(authorization: string | string[] | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  return match ? match[1]! : null;
}

export async function authenticate(
  options: AuthenticateOptions,
  token: string | null | undefined,
): Promise<AuthOutcome> {
  if (!token) return { identity: null, error: null };
  try {
    const identity = await options.verifier.verify(token);
    if (options.revocations && (await options.revocations.isRevoked(identity))) {
      return { identity: null, error: new RampartAuthError('session_revoked') };
    }
    return { identity, error: null };
  } catch (err) {
    if (err instanceof RampartAuthError) return { identity: null, error: err };
    return { identity: null, error: new RampartAuthError('token_invalid', undefined, { cause: err }) };
  }
}

/** What a request that needs a caller is refused with, or null when it may go on. */
export function authFailure(outcome: AuthOutcome | undefined): RampartAuthError | null {
  if (!outcome) throw new Error('@rampart/node: the Rampart middleware/plugin is not installed before this guard');
  if (outcome.error) return outcome.error;
  if (!outcome.identity) return new RampartAuthError('token_missing');
  return null;
}

export function permissionFailure(identity: RampartIdentity, permissions: readonly string[]): RampartAuthError | null {
  return hasPermissions(identity, permissions) ? null : new RampartAuthError('insufficient_permission');
}

export function secondFactorFailure(identity: RampartIdentity): RampartAuthError | null {
  return identity.secondFactor ? null : new RampartAuthError('second_factor_required');
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

/** The WWW-Authenticate challenge of an error (RFC 6750 §3, RFC 9470 §3), if it has one. */
export function challengeOf(error: RampartAuthError): string | null {
  const description = `error_description=${quote(error.message)}`;
  switch (error.code) {
    case 'token_missing':
      // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
      return 'Bearer';
    case 'token_invalid':
    case 'token_expired':
    case 'session_revoked':
      return `Bearer error="invalid_token", ${description}`;
    case 'insufficient_permission':
      return `Bearer error="insufficient_scope", ${description}`;
    case 'second_factor_required':
      return `Bearer error="insufficient_user_authentication", ${description}, acr_values=${quote(ACR_MFA)}`;
    case 'jwks_unavailable':
      return null;
  }
}

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string } };
}

export function errorAnswer(error: RampartAuthError): ErrorAnswer {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  const challenge = challengeOf(error);
  if (challenge) headers['www-authenticate'] = challenge;
  if (error.code === 'jwks_unavailable') headers['retry-after'] = '5';
  return { status: error.status, headers, body: { error: { code: error.code, message: error.message } } };
}

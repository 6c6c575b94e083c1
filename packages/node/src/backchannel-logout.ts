import { decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type { FetchLike } from './fetch.js';
import { createLocalKeyResolver, createRemoteKeyResolver, type KeyResolver } from './jwks.js';
import { MemoryReplayStore, type ReplayStore } from './replay-store.js';
import type { RampartAlgorithm, RampartVerifier } from './verifier.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What a validated logout token tells the product to end. */
export interface LogoutEvent {
  /** The Rampart session to end, when named. */
  sid: string | null;
  /** The user; when `sid` is null, every session of this user ends. */
  sub: string | null;
  jti: string;
}

export interface BackchannelLogoutOptions {
  issuer: string;
  /** The product's client_id: the logout token's `aud` must contain it. */
  clientId: string;
  /** Reuse the access-token verifier's keys (and its algorithms and clock leeway). */
  verifier?: RampartVerifier;
  /** Or: a JWKS URL, a fixed JWKS, or a key resolver. */
  jwks?: string | URL | JSONWebKeySet | KeyResolver;
  /** Used with a `jwks` URL. */
  fetch?: FetchLike;
  /** Ends the sessions; throwing makes the answer 400 and lets the issuer's retry through. */
  onLogout(event: LogoutEvent): void | Promise<void>;
  /** Oldest acceptable `iat`, in seconds. Default 120. */
  maxAgeSec?: number;
  algorithms?: readonly RampartAlgorithm[];
  clockToleranceSec?: number;
  /** Seen `jti`s; default an in-memory store of 10 000 entries. */
  replayStore?: ReplayStore;
  /** Called with the reason a logout token was refused (for logs; never sent to the issuer). */
  onRejected?(reason: string, cause?: unknown): void;
}

export interface BackchannelLogoutResponse {
  status: 200 | 400;
  headers: Record<string, string>;
  /** Empty on success; the OAuth-style error object otherwise. */
  body: '' | { error: string; error_description?: string };
}

export type BackchannelLogoutBody = string | URLSearchParams | Record<string, unknown> | undefined | null;

/** Validates a logout token and ends its sessions; adapters for Fastify and Express wrap it. */
export type BackchannelLogoutHandler = (body: BackchannelLogoutBody) => Promise<BackchannelLogoutResponse>;

const HEADERS = { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' };

class Refusal extends Error {}

function logoutTokenOf(body: BackchannelLogoutBody): string {
  let value: unknown;
  if (typeof body === 'string') value = new URLSearchParams(body).getAll('logout_token');
  else if (body instanceof URLSearchParams) value = body.getAll('logout_token');
  else if (body && typeof body === 'object') value = body.logout_token;
  const tokens = Array.isArray(value) ? value : [value];
  if (tokens.length !== 1 || typeof tokens[0] !== 'string' || tokens[0] === '') {
    throw new Refusal('exactly one logout_token parameter is required');
  }
  return tokens[0];
}

function keysOf(options: BackchannelLogoutOptions): KeyResolver {
  if (options.verifier) return options.verifier.keys;
  const { jwks } = options;
  if (typeof jwks === 'function') return jwks;
  if (typeof jwks === 'string' || jwks instanceof URL) {
    return createRemoteKeyResolver({ jwksUri: new URL(jwks), fetch: options.fetch });
  }
  if (jwks && typeof jwks === 'object') return createLocalKeyResolver(jwks);
  throw new TypeError('createBackchannelLogoutHandler needs a verifier or jwks');
}

/**
 * OpenID Connect Back-Channel Logout 1.0 §2.6: the logout token must be signed by one of the
 * issuer's keys with a pinned algorithm, typed `logout+jwt`, from `issuer`, for `clientId`, recent
 * (`iat` within `maxAgeSec`, not in the future) and unexpired, carry the back-channel event as an
 * object, name a `sid` and/or `sub`, carry no `nonce`, and not repeat a `jti` already seen.
 */
export function createBackchannelLogoutHandler(options: BackchannelLogoutOptions): BackchannelLogoutHandler {
  const { issuer, clientId, onLogout } = options;
  if (!issuer || !clientId) throw new TypeError('issuer and clientId are required');
  const keys = keysOf(options);
  const algorithms = [...(options.algorithms ?? options.verifier?.algorithms ?? ['ES256', 'EdDSA'])];
  const clockTolerance = options.clockToleranceSec ?? options.verifier?.clockToleranceSec ?? 5;
  const maxAgeSec = options.maxAgeSec ?? 120;
  const replayStore = options.replayStore ?? new MemoryReplayStore();

  const refuse = (reason: string, cause?: unknown): BackchannelLogoutResponse => {
    options.onRejected?.(reason, cause);
    return { status: 400, headers: { ...HEADERS }, body: { error: 'invalid_request', error_description: reason } };
  };

  return async (body) => {
    let token: string;
    try {
      token = logoutTokenOf(body);
      const header = decodeProtectedHeader(token);
      if (typeof header.typ !== 'string' || header.typ.toLowerCase().replace(/^application\//, '') !== 'logout+jwt') {
        throw new Refusal('the logout token must be typed logout+jwt');
      }
    } catch (err) {
      return refuse(err instanceof Refusal ? err.message : 'the logout token is malformed', err);
    }

    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience: clientId,
        algorithms,
        typ: 'logout+jwt',
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'events'],
        maxTokenAge: maxAgeSec,
        clockTolerance,
      }));
    } catch (err) {
      return refuse('the logout token failed validation', err);
    }

    const events = payload.events;
    const event =
      events && typeof events === 'object' ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : null;
    if (!event || typeof event !== 'object' || Array.isArray(event)) {
      return refuse('the logout token lacks the back-channel logout event');
    }
    if ('nonce' in payload) return refuse('a logout token must not contain a nonce');
    const sid = payload.sid;
    const sub = payload.sub;
    if ((sid !== undefined && typeof sid !== 'string') || (sub !== undefined && typeof sub !== 'string')) {
      return refuse('sid and sub must be strings');
    }
    if (!sid && !sub) return refuse('the logout token names neither sid nor sub');
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '') return refuse('the logout token has no jti');

    // Remember the jti for as long as the token could still pass the checks above.
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    const expiresAtMs = (Math.min(exp, iat + maxAgeSec) + clockTolerance) * 1000;
    const scopedJti = `${issuer} ${jti}`;
    if (!(await replayStore.claim(scopedJti, expiresAtMs))) return refuse('the logout token was already used');

    try {
      await onLogout({ sid: (sid as string | undefined) || null, sub: (sub as string | undefined) || null, jti });
    } catch (err) {
      await replayStore.release?.(scopedJti);
      options.onRejected?.('onLogout failed', err);
      return {
        status: 400,
        headers: { ...HEADERS },
        body: { error: 'server_error', error_description: 'logout failed' },
      };
    }
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: '' };
  };
}

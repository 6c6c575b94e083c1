import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import {
  type BackchannelLogoutBody,
  type BackchannelLogoutHandler,
  createBackchannelLogoutHandler,
  type BackchannelLogoutOptions,
} from './backchannel-logout.js';
import type { RampartAuthError } from './errors.js';
import type { RampartIdentity } from './identity.js';
import {
  type AuthOutcome,
  authenticate,
  authFailure,
  bearerToken,
  errorAnswer,
  permissionFailure,
  secondFactorFailure,
} from './http-auth.js';
import type { RevocationChecker } from './revocations.js';
import type { RampartVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, or null (no token, or a refused one: see the guards). */
    rampart: RampartIdentity | null;
  }
}

export interface RampartFastifyOptions {
  verifier: RampartVerifier;
  /** Where the token is; default the `Authorization: Bearer` header. Return null for none. */
  getToken?(request: FastifyRequest): string | null | undefined | Promise<string | null | undefined>;
  /** Consulted after a token verifies, e.g. a SessionRevocations fed by back-channel logout. */
  revocations?: RevocationChecker;
}

const outcomes = new WeakMap<FastifyRequest, AuthOutcome>();

function send(reply: FastifyReply, error: RampartAuthError): FastifyReply {
  const answer = errorAnswer(error);
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

async function plugin(app: FastifyInstance, options: RampartFastifyOptions): Promise<void> {
  if (!options?.verifier) throw new TypeError('rampartFastify needs a verifier');
  const getToken = options.getToken ?? ((request: FastifyRequest) => bearerToken(request.headers.authorization));
  app.decorateRequest('rampart', null);
  app.addHook('onRequest', async (request) => {
    const outcome = await authenticate(options, await getToken(request));
    outcomes.set(request, outcome);
    request.rampart = outcome.identity;
  });
}

/**
 * Fastify plugin: verifies the token of every request and puts the caller on `request.rampart`
 * (null when there is none or it was refused). It does not refuse requests itself: routes opt in
 * with the `requireAuth`, `requirePermission` and `requireSecondFactor` pre-handlers. It applies to
 * the scope it is registered in, like a fastify-plugin-wrapped plugin.
 */
export const rampartFastify = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@rampart/node',
  [Symbol.for('plugin-meta')]: { name: '@rampart/node', fastify: '5.x' },
});

type Check = (identity: RampartIdentity, request: FastifyRequest, reply: FastifyReply) => FastifyReply | null;

/** A pre-handler that refuses unauthenticated requests, then applies `check` to the caller. */
function guard(check: Check): preHandlerAsyncHookHandler {
  return async function rampartGuard(request, reply) {
    const error = authFailure(outcomes.get(request));
    if (error) return send(reply, error);
    const refused = check(request.rampart!, request, reply);
    if (refused) return refused;
  };
}

/** Pre-handler: 401 unless the request carries a valid, unrevoked token (503 if keys are unreachable). */
export function requireAuth(): preHandlerAsyncHookHandler {
  return guard(() => null);
}

/** Pre-handler: as requireAuth, then 403 `insufficient_permission` unless every permission is held. */
export function requirePermission(...permissions: string[]): preHandlerAsyncHookHandler {
  return guard((identity, _request, reply) => {
    const error = permissionFailure(identity, permissions);
    return error ? send(reply, error) : null;
  });
}

export interface SecondFactorOptions {
  /**
   * For browser apps: where to send a one-factor user (typically a route that restarts authorization
   * with `acr_values=urn:rampart:acr:mfa`). Without it the answer is the RFC 9470 401 challenge.
   */
  redirectTo?(request: FastifyRequest): string;
}

/** Pre-handler: as requireAuth, then a step-up challenge (or redirect) unless a second factor was used. */
export function requireSecondFactor(options: SecondFactorOptions = {}): preHandlerAsyncHookHandler {
  return guard((identity, request, reply) => {
    const error = secondFactorFailure(identity);
    if (!error) return null;
    if (options.redirectTo) return reply.header('cache-control', 'no-store').redirect(options.redirectTo(request), 303);
    return send(reply, error);
  });
}

/** A route handler for an app that already parses form bodies (e.g. with @fastify/formbody). */
export function backchannelLogoutRoute(handler: BackchannelLogoutHandler) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const answer = await handler(request.body as BackchannelLogoutBody);
    return reply
      .code(answer.status)
      .headers(answer.headers)
      .send(answer.body === '' ? undefined : answer.body);
  };
}

export interface FastifyBackchannelLogoutOptions extends BackchannelLogoutOptions {
  /** The back-channel logout URI path registered with Rampart. Default `/backchannel-logout`. */
  path?: string;
}

/**
 * Fastify plugin registering `POST <path>` for back-channel logout, with its own
 * `application/x-www-form-urlencoded` parser confined to that route's scope.
 */
export async function rampartBackchannelLogout(
  app: FastifyInstance,
  options: FastifyBackchannelLogoutOptions,
): Promise<void> {
  const handler = createBackchannelLogoutHandler(options);
  const type = 'application/x-www-form-urlencoded';
  if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
  app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, body);
  });
  app.post(options.path ?? '/backchannel-logout', backchannelLogoutRoute(handler));
}

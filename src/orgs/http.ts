import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';
import { authOf, requireUser } from '../sessions/index.js';
import type { ApiKeyService, KeyPrincipal } from './api-keys.js';
import { orgError } from './errors.js';
import type { Actor } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request authenticated with an organization API key (Authorization: Bearer rmp_live_...). */
    apiKey?: KeyPrincipal;
  }
}

/** O6: `Authorization: Bearer <key>` authenticates as the key's organization, rate limited per key. */
export function apiKeyLoading(app: FastifyInstance, keys: ApiKeyService, limits: Limits, perMinute: number): void {
  // Per address first (a spray of made-up key ids is bounded too), then per key: one call, one Redis script.
  const limit = limits.chain([
    { name: 'api_key_ip', rule: { points: perMinute * 2, durationSec: 60 } },
    { name: 'api_key', rule: { points: perMinute, durationSec: 60 } },
  ]);
  app.decorateRequest('apiKey', undefined);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ') || request.routeOptions.config.ownBearer) return;
    const presented = header.slice(7).trim();
    if (request.routeOptions.config.personTokens && !presented.startsWith('rmp_')) return;
    const keyId = /^rmp_live_([a-z0-9]{16})_/.exec(presented)?.[1];
    const verdict = await limit.consume([request.ip, keyId]);
    if (!verdict.allowed) throw rateLimited(verdict.retryAfterSec);
    const principal = await keys.authenticate(presented, request.ip);
    if (!principal) throw orgError('invalid_api_key');
    request.apiKey = principal;
  });
}

/** preHandler: an API key, or a signed-in person with a verified address. */
export async function requireUserOrKey(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  if (request.apiKey) return undefined;
  return requireUser(request, reply);
}

/** The signed-in person as an actor on organization routes. */
export function personOf(request: FastifyRequest): Extract<Actor, { kind: 'user' }> {
  const { user, session } = authOf(request);
  return { kind: 'user', userId: user.id, email: user.email, twoFactor: session.authLevel >= 2 };
}

/** Who is acting on an organization route: the API key, or the signed-in person. */
export function actorOf(request: FastifyRequest): Actor {
  return request.apiKey ?? personOf(request);
}

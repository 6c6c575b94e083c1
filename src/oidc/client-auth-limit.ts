import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';

const AUTH_FAILURES = { points: 30, durationSec: 15 * 60 };

/**
 * A8 for the endpoints where a client presents its secret (token, introspection, revocation): an
 * address whose requests keep ending in 401 waits. One count for all three, whoever answered the
 * 401 (Rampart or the provider): the hook reads the status the response finished with.
 */
export function clientAuthLimit(limits: Limits) {
  const failures = limits.limiter('oidc_client_auth_ip', AUTH_FAILURES);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const limit = await failures.peek(request.ip);
    if (!limit.allowed) throw rateLimited(limit.retryAfterSec);
    reply.raw.once('finish', () => {
      if (reply.raw.statusCode === 401) failures.consume(request.ip).catch(() => undefined);
    });
  };
}

export type ClientAuthLimit = ReturnType<typeof clientAuthLimit>;

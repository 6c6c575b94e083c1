import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';
import { authOf, requireUser } from '../sessions/index.js';
import { operatorError } from './errors.js';
import type { Operator, OperatorTokens } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on operator routes once the request's operator token checked out. */
    operator?: Operator;
  }
}

export interface OperatorGuardOptions {
  /** Presented tokens that fail, per address, before the address is refused (default 10). */
  failures: number;
  /** The window those are counted in, and how long the address is then refused (seconds). */
  windowSec: number;
}

/**
 * The preHandler of operator routes: `Authorization: Bearer rop_…` and nothing else (a session
 * cookie grants no operator access). A token that fails counts against the caller's address; past
 * the limit the address is refused, even with a good token, until the window ends.
 */
export function operatorGuard(tokens: OperatorTokens, limits: Limits, opts: OperatorGuardOptions) {
  const failures = limits.limiter('operator_token_failures', {
    points: opts.failures,
    durationSec: opts.windowSec,
    blockSec: opts.windowSec,
  });
  const refuse = (reply: FastifyReply) => {
    reply.header('www-authenticate', 'Bearer realm="rampart operator"');
    return operatorError('operator_unauthorized');
  };
  return async function requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const now = await failures.peek(request.ip);
    if (!now.allowed) throw rateLimited(now.retryAfterSec);
    const presented = /^Bearer[ \t]+(\S{1,512})[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined) throw refuse(reply);
    const operator = await tokens.authenticate(presented);
    if (!operator) {
      const verdict = await failures.consume(request.ip);
      request.log.warn({ ip: request.ip }, 'operator token refused');
      if (!verdict.allowed) throw rateLimited(verdict.retryAfterSec);
      throw refuse(reply);
    }
    request.operator = operator;
    // Not every operator request changes state; every one is logged with who made it.
    request.log.info(
      {
        operator: operator.name,
        operatorToken: operator.tokenId,
        method: request.method,
        route: request.routeOptions.url,
      },
      'operator request',
    );
  };
}

/** The operator of a request that passed the guard. */
export function operatorOf(request: FastifyRequest): Operator {
  if (!request.operator) throw new Error('operatorOf: the route has no operator guard');
  return request.operator;
}

/**
 * The preHandler of operator console pages: a signed-in account granted the console, whose session
 * presented a second factor. Not signed in: to sign-in and back. Anyone else: 403. The grant is
 * read on every request, so `rampart operator ungrant` works at once.
 */
export function operatorPageGuard(isOperator: (userId: string) => Promise<boolean>) {
  return async function requireOperatorPage(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const signedIn = await requireUser(request, reply);
    if (signedIn) return signedIn;
    const { user, session } = authOf(request);
    if (session.authLevel < 2 || !(await isOperator(user.id))) {
      request.log.warn({ user: user.id, route: request.routeOptions.url }, 'operator console refused');
      throw operatorError('operator_console_forbidden');
    }
    request.operator = { name: user.email, userId: user.id };
    return undefined;
  };
}

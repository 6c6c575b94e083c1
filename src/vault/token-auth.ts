import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OidcService } from '../oidc/index.js';
import { type Actor, actorOf, requireUserOrKey } from '../orgs/index.js';
import { ACR_TWO_FACTORS } from '../oidc/index.js';
import { vaultError } from './errors.js';

/*
 * A product acting for a signed-in person: their Rampart access token, with scope `connections`,
 * for the organization they chose at sign-in. The token must be live as introspection sees it;
 * what the person may do is read from their membership now, by the service, like any person's.
 */

type Person = Extract<Actor, { kind: 'user' }>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when a product's access token authenticated the request on its person's behalf. */
    tokenPerson?: Person;
  }
}

/** Route config of the routes that take one (the API-key hook leaves such a bearer alone). */
export const PERSON_TOKENS = { personTokens: true as const };

export function personTokenAuth(oidc: Pick<OidcService, 'activeAccessToken'>) {
  return async function requireCaller(request: FastifyRequest, reply: FastifyReply) {
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!presented || presented.startsWith('rmp_')) return requireUserOrKey(request, reply);
    const token = await oidc.activeAccessToken(presented);
    if (!token) throw vaultError('access_token_invalid');
    const orgId = (request.params as { orgId?: string }).orgId;
    if (!token.scopes.has('connections') || token.orgId === undefined || token.orgId !== orgId)
      throw vaultError('access_token_scope');
    request.tokenPerson = {
      kind: 'user',
      userId: token.userId,
      email: typeof token.payload.email === 'string' ? token.payload.email : '',
      twoFactor: token.payload.acr === ACR_TWO_FACTORS,
    };
    return undefined;
  };
}

/** Who is calling: the token's person, the API key, or the session's person. */
export const callerOf = (request: FastifyRequest): Actor => request.tokenPerson ?? actorOf(request);

import type { IncomingMessage } from 'node:http';
import * as querystring from 'node:querystring';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader, type JWK } from 'jose';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { type AppError, platformError } from '../platform/errors.js';
import { toAppError } from '../platform/http/errors.js';
import type { ClientAuthLimit } from './client-auth-limit.js';
import type { AccessTokens } from './access-tokens.js';
import type { ProviderHandler } from './bridge.js';
import type { Claims } from './claims.js';
import type { ClientRegistry } from './clients.js';
import { audienceHas, createTokenVerifier } from './token-verifier.js';
import { oidcError } from './errors.js';
import { OIDC_PREFIX } from './provider.js';

/*
 * A10, S3: introspection (RFC 7662), revocation (RFC 7009) and userinfo for Rampart's JWT access
 * tokens, which oidc-provider refuses (`unsupported_token_type`: it keeps no state for them). Rampart reads these
 * two endpoints' bodies first; a `token` that is a JWT (the provider's own test: a JOSE header
 * decodes) is answered here, anything else goes to the provider unchanged (refresh tokens).
 *
 * Client authentication is the provider's, as it is configured (provider.ts): `client_secret_basic`
 * for confidential clients, `none` for public ones; a `client_secret` or `client_assertion` in the
 * body is no credential there, so it is none here either. The secret is checked against its hash
 * (clients.ts). A JWT is active only when it is signed by a published key, issued by this issuer to
 * the calling client, unexpired by Rampart's clock, not revoked, and its grant, Rampart session and
 * organization role are what they were when it was issued.
 */

const INTROSPECTION = `${OIDC_PREFIX}/token/introspection`;
const REVOCATION = `${OIDC_PREFIX}/token/revocation`;
const USERINFO = `${OIDC_PREFIX}/me`;
/** The provider's own body limit for these endpoints. */
const BODY_LIMIT = 56 * 1024;
/** A Rampart access token is about 1 KiB; a `token` far past that is refused with a clear error. */
export const TOKEN_MAX = 8 * 1024;

/**
 * R5: the parameters this endpoint reads, each bounded. Other parameters are allowed: RFC 6749 §3.2
 * requires the server to ignore parameters it does not recognize (and the provider reads the same
 * body when the token is not a JWT). A parameter given twice arrives as a list and is refused.
 */
const Body = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: TOKEN_MAX }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);
type Body = Static<typeof Body>;

/** Failed client authentications per address before it is refused for a while (A8; products retry on 401 rarely). */
export interface TokenEndpointDeps {
  issuer: string;
  db: Tenancy;
  clock: Clock;
  clients: ClientRegistry;
  claims: Claims;
  accessTokens: AccessTokens;
  authLimit: ClientAuthLimit;
  publishedKeys(): readonly JWK[];
  forward: ProviderHandler;
}

interface Caller {
  clientId: string;
  confidential: boolean;
}

// The provider's checks of a Basic header (RFC 6749 §2.3.1), with its answers.
const BASE64 = /^([A-Za-z0-9+/]*)(={0,2})$/;
const VSCHAR_ONLY = /^[\x20-\x7E]*$/;

function isValidBase64(input: string): boolean {
  const m = BASE64.exec(input);
  if (!m?.[1]) return false;
  const remainder = m[1].length % 4;
  if (!m[2]) return remainder !== 1;
  return (m[1].length + m[2].length) % 4 === 0 && m[2].length === 4 - remainder;
}

function decodeAuthPart(part: string): string {
  const decoded = decodeURIComponent(part.replace(/\+/g, '%20'));
  if (!VSCHAR_ONLY.test(decoded)) throw new Error('invalid character');
  return decoded;
}

const badRequest = (message: string) => platformError('invalid_request', { message });

/** Who is calling, authenticated exactly as the provider authenticates clients at these endpoints. */
async function authenticate(clients: ClientRegistry, request: FastifyRequest, body: Body): Promise<Caller> {
  const header = request.headers.authorization;
  let clientId = body.client_id;
  let secret: string | undefined;
  if (header !== undefined) {
    const parts = header.split(' ');
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'basic' || !isValidBase64(parts[1]!))
      throw badRequest('invalid authorization header value format');
    const basic = Buffer.from(parts[1]!, 'base64').toString('utf8');
    const i = basic.indexOf(':');
    if (i === -1) throw badRequest('invalid authorization header value format');
    let basicId: string;
    try {
      basicId = decodeAuthPart(basic.slice(0, i));
      secret = decodeAuthPart(basic.slice(i + 1));
    } catch {
      throw badRequest('client_id and client_secret in the authorization header are not properly encoded');
    }
    if (clientId !== undefined && clientId !== basicId) throw badRequest('client_id mismatch');
    clientId = basicId;
    if (!secret) throw badRequest('client_secret must be provided in the Authorization header');
  }
  if (!clientId) throw badRequest('no client authentication mechanism provided');
  const client = await clients.get(clientId);
  if (!client) throw oidcError('invalid_client', { message: 'client not found' });
  const mismatch = 'the provided authentication mechanism does not match the registered client authentication method';
  if (client.confidential !== (secret !== undefined)) throw oidcError('invalid_client', { message: mismatch });
  if (secret !== undefined && !(await clients.verifySecret(clientId, secret)))
    throw oidcError('invalid_client', { message: 'invalid secret provided' });
  return { clientId: client.clientId, confidential: client.confidential };
}

/** The provider's test for a structured token (oidc-provider's reject_structured_tokens). */
function isJwt(token: string): boolean {
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

export function tokenEndpoints(app: FastifyInstance, deps: TokenEndpointDeps): void {
  const { issuer, clients, claims, accessTokens } = deps;
  const raw = new WeakMap<FastifyRequest, Buffer>();

  const { verified, live } = createTokenVerifier(deps);

  /**
   * OpenID Connect userinfo for Rampart's JWT access tokens (the provider's endpoint takes only
   * tokens it stores): the claims of the token's scopes as they are now, for a token that
   * introspection would call active.
   */
  async function userinfo(token: string): Promise<Record<string, unknown> | 'invalid_token' | 'insufficient_scope'> {
    const payload = await verified(token);
    const clientId = String(payload?.client_id);
    if (!payload || !audienceHas(payload.aud, clientId)) return 'invalid_token';
    const reads = {};
    const grantId = await live(payload, clientId, reads);
    const account = grantId ? await claims.account(String(payload.sub), grantId, reads) : undefined;
    if (!account) return 'invalid_token';
    const scopes = new Set(String(payload.scope ?? '').split(' '));
    if (!scopes.has('openid')) return 'insufficient_scope';
    const { email, email_verified, ...org } = account;
    return {
      sub: payload.sub,
      ...(scopes.has('email') ? { email, email_verified } : {}),
      ...(scopes.has('org') ? org : {}),
    };
  }

  async function introspect(token: string, caller: Caller): Promise<Record<string, unknown>> {
    const payload = await verified(token);
    if (!payload || payload.client_id !== caller.clientId || !audienceHas(payload.aud, caller.clientId))
      return { active: false };
    if (!(await live(payload, caller.clientId))) return { active: false };
    return { ...payload, active: true, token_type: 'Bearer' };
  }

  async function revoke(token: string, caller: Caller): Promise<void> {
    const payload = await verified(token);
    if (!payload) return; // RFC 7009 §2.2: an invalid (or expired) token needs no revoking
    if (payload.client_id !== caller.clientId) {
      // As the provider answers for its own tokens: a public client learns nothing.
      if (!caller.confidential) return;
      throw badRequest('client is not authorized to revoke the presented token');
    }
    await accessTokens.revoke(String(payload.jti), caller.clientId);
  }

  /** RFC 6749 §5.2 errors: the code, a description, and the request id (R6). */
  function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
    reply.code(error.status).header('cache-control', 'no-store');
    if (error.retryAfterSec !== undefined) reply.header('retry-after', String(error.retryAfterSec));
    if (error.status === 401 && request.headers.authorization !== undefined)
      reply.header('www-authenticate', `Basic realm="${issuer}", error="${error.code}"`);
    const description = error.fields ? error.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : error.message;
    return reply.send({ error: error.code, error_description: description, request_id: request.id });
  }

  app.register(async (scope) => {
    // The token comes in the Authorization header (RFC 6750 §2.1); a body is not read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const token = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/.exec(request.headers.authorization ?? '')?.[1];
      const answer = token && isJwt(token) ? await userinfo(token) : 'invalid_token';
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      if (typeof answer === 'object') return answer;
      const status = answer === 'invalid_token' ? 401 : 403;
      return reply
        .code(status)
        .header('www-authenticate', `Bearer realm="${issuer}", error="${answer}"`)
        .send({ error: answer, request_id: request.id });
    };
    const schema = { hide: true, description: 'OpenID Connect userinfo: the claims of a Bearer access token' };
    // Its Bearer token is an access token of a product, not an organization's API key.
    const config = { csrfExempt: true as const, ownBearer: true as const };
    scope.route({ method: ['GET', 'POST'], url: USERINFO, handler, config, schema });
  });

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
      raw.set(request, body as Buffer);
      done(null, querystring.parse((body as Buffer).toString('utf8')));
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const known = toAppError(error);
      if (known) request.log.info({ code: known.code, status: known.status }, 'request refused');
      else request.log.error({ err: error }, 'unexpected error');
      return sendOAuthError(request, reply, known ?? platformError('internal_error'));
    });
    scope.addHook('onRequest', deps.authLimit);

    const route = (url: string, answer: (body: Body, caller: Caller, reply: FastifyReply) => Promise<unknown>) =>
      scope.post(
        url,
        {
          bodyLimit: BODY_LIMIT,
          config: { csrfExempt: true },
          schema: { hide: true, body: Body },
        },
        async (request, reply) => {
          const body = request.body as Body;
          if (!isJwt(body.token)) {
            // Not a JWT: the provider's, with the body as it came. Its body reader, finding the stream
            // already read, takes `req.body` instead (its documented fallback; it says so once per
            // process on stderr: "already parsed request body detected").
            (request.raw as IncomingMessage & { body?: Buffer }).body = raw.get(request);
            return deps.forward(request, reply);
          }
          reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
          return answer(body, await authenticate(clients, request, body), reply);
        },
      );

    route(INTROSPECTION, async (body, caller) => {
      if (!caller.confidential)
        throw oidcError('invalid_client', { message: 'public clients may not introspect tokens' });
      return introspect(body.token, caller);
    });
    route(REVOCATION, async (body, caller, reply) => {
      await revoke(body.token, caller);
      return reply.code(200).send();
    });
  });
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { draw, systemRandom, type RandomSource } from '../crypto/random.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { platformError } from '../errors.js';

export const PRE_SESSION_COOKIE = '__Host-rampart_pre';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * An OAuth / OpenID Connect protocol endpoint, called cross-site by design and protected by the
     * protocol itself (client authentication, PKCE, state): the origin and token checks do not apply.
     * Also a route that authenticates only by a bearer token and ignores cookies (ownBearer): with no
     * ambient credential there is nothing to forge.
     */
    csrfExempt?: true;
    /**
     * The route checks `Authorization: Bearer …` itself (operator routes: operator tokens only, never
     * a cookie): hooks that read bearer tokens for other routes (organization API keys) leave it alone.
     */
    ownBearer?: true;
    /**
     * The route also takes a product's Rampart access token on a person's behalf (the vault's
     * connections): a bearer that is not an organization API key is left to the route.
     */
    personTokens?: true;
  }
  interface FastifyRequest {
    /** The CSRF token to put in this response's forms (tied to the session, or to the pre-session cookie). */
    csrfToken(reply: FastifyReply): string;
  }
}

export interface CsrfOptions {
  /** A secret only this deployment knows (derived from the master key). */
  key: Buffer;
  baseUrl: string;
  /** The signed-in session a request carries, if any: its token is bound to it. */
  sessionBinding(request: FastifyRequest): string | undefined;
  /** Whether the request presented any cookie of ours (session or pre-session). */
  hasOurCookie(request: FastifyRequest): boolean;
  random?: RandomSource;
}

const failed = (why: string) =>
  platformError('csrf_failed', {
    message:
      `This request was refused to protect you from cross-site request forgery (${why}). Reload the ` +
      `page and try again.`,
  });

/**
 * R1: every state-changing request must come from our own origin (Origin / Sec-Fetch-Site) and,
 * when it carries one of our cookies, present a token bound to that session or pre-session.
 * Requests that authenticate with a bearer token and carry no cookie have no ambient authority
 * to abuse, so they skip the token check.
 */
export function csrfProtection(app: FastifyInstance, opts: CsrfOptions): void {
  const origin = new URL(opts.baseUrl).origin;
  const tokenFor = (binding: string) => createHmac('sha256', opts.key).update(binding).digest('base64url');

  app.decorateRequest('csrfToken', function (this: FastifyRequest, reply: FastifyReply): string {
    const session = opts.sessionBinding(this);
    if (session) return tokenFor(`s:${session}`);
    let pre = this.cookies[PRE_SESSION_COOKIE];
    if (!pre || !/^[A-Za-z0-9_-]{22}$/.test(pre)) {
      pre = draw(opts.random ?? systemRandom, 16).toString('base64url');
      this.cookies[PRE_SESSION_COOKIE] = pre; // later forms in this response use the same value
      reply.setCookie(PRE_SESSION_COOKIE, pre, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
    }
    return tokenFor(`p:${pre}`);
  });

  app.addHook('preValidation', async (request) => {
    if (!UNSAFE.has(request.method) || request.routeOptions.config.csrfExempt) return;
    const hasCookie = opts.hasOurCookie(request);
    if (!hasCookie && /^Bearer\s/i.test(request.headers.authorization ?? '')) return;

    const requestOrigin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    if (requestOrigin !== undefined && requestOrigin !== origin) throw failed('wrong origin');
    if (requestOrigin === undefined && fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
      throw failed('cross-site request');
    }
    if (!hasCookie) return; // no ambient credential: nothing to forge

    const session = opts.sessionBinding(request);
    const pre = request.cookies[PRE_SESSION_COOKIE];
    const expected = session ? tokenFor(`s:${session}`) : pre ? tokenFor(`p:${pre}`) : undefined;
    const body = request.body as Record<string, unknown> | undefined;
    const presented =
      request.headers[CSRF_HEADER] ?? (typeof body?.[CSRF_FIELD] === 'string' ? body[CSRF_FIELD] : undefined);
    if (!expected || typeof presented !== 'string') throw failed('missing token');
    const a = Buffer.from(presented);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw failed('wrong token');
  });
}

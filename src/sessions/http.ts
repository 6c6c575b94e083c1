import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../platform/errors.js';
import { wantsJson } from '../platform/http/errors.js';
import { requestContext } from '../platform/http/request-context.js';
import { sessionError } from './errors.js';
import type { Authenticated, Session, SessionService } from './service.js';

/** S1: `__Host-` pins the cookie to this host, Secure and Path=/; HttpOnly keeps scripts away from it. */
export const SESSION_COOKIE = '__Host-rampart_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in session and user, when the request carries a live session cookie. */
    auth?: Authenticated;
    /** A session still waiting for its second factor: it reaches the second-factor step and nothing else. */
    pendingSignIn?: Authenticated;
  }
}

/** The session each response gives its browser, so the one the browser held can be ended (S2). */
const issued = new WeakMap<FastifyReply, Session>();

export function setSessionCookie(reply: FastifyReply, token: string, session: Session): void {
  issued.set(reply, session);
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    expires: session.absoluteExpiresAt,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
}

/** Loads the session on every request (from the cache when it can); a dead cookie is cleared. */
export function sessionLoading(app: FastifyInstance, sessions: SessionService): void {
  app.decorateRequest('auth', undefined);
  app.decorateRequest('pendingSignIn', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return;
    const auth = await sessions.authenticate(token);
    if (!auth) return clearSessionCookie(reply);
    if (auth.session.rotateDue) {
      // S2: a role change elsewhere; this response carries the new identifier.
      const fresh = await sessions.rotateIfDue(auth.session.id, token);
      if (fresh) setSessionCookie(reply, fresh, auth.session);
    }
    if (auth.session.secondFactorPending) request.pendingSignIn = auth;
    else request.auth = auth;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const previous = (request.auth ?? request.pendingSignIn)?.session;
    const next = issued.get(reply);
    if (previous && next && next.id !== previous.id) {
      // The new sign-in has committed: a failure here must not cost the browser its new cookie.
      await sessions.endReplaced(previous, next, requestContext(request)).catch((err: unknown) => {
        request.log.error({ err, session: previous.id }, 'the session a new sign-in replaced could not be ended');
      });
    }
    return payload;
  });
}

/** APIs get the error; browsers are sent to the page that resolves it (and back afterwards). */
function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError, page: string): FastifyReply {
  if (wantsJson(request)) throw error;
  const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`${page}${next}`, 303);
}

const secondFactorNeeded = () => sessionError('second_factor_required');

/** preHandler: a signed-in user whose e-mail is verified (A1: nothing else gets through). */
export async function requireUser(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.pendingSignIn) return refuse(request, reply, secondFactorNeeded(), '/signin/second-factor');
  if (!request.auth) return refuse(request, reply, sessionError('unauthenticated'), '/signin');
  if (!request.auth.user.emailVerified) {
    return refuse(request, reply, sessionError('email_unverified'), '/verify-email/pending');
  }
  return undefined;
}

/** preHandler: any session, verified or not (the "check your e-mail" page and resend). */
export async function requireSession(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.pendingSignIn) return refuse(request, reply, secondFactorNeeded(), '/signin/second-factor');
  if (!request.auth) return refuse(request, reply, sessionError('unauthenticated'), '/signin');
  return undefined;
}

/** preHandler: a sign-in waiting for its second factor. */
export async function requirePendingSignIn(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  if (request.pendingSignIn) return undefined;
  if (request.auth) {
    if (wantsJson(request)) throw sessionError('already_signed_in');
    return reply.redirect('/account/security', 303);
  }
  return refuse(request, reply, sessionError('unauthenticated'), '/signin');
}

/** The signed-in session of a request that passed requireUser / requireSession. */
export function authOf(request: FastifyRequest): Authenticated {
  if (!request.auth) throw sessionError('unauthenticated');
  return request.auth;
}

/** The session of a request that passed requirePendingSignIn. */
export function pendingOf(request: FastifyRequest): Authenticated {
  if (!request.pendingSignIn) throw sessionError('unauthenticated');
  return request.pendingSignIn;
}

/** Only local paths: `next` must never send someone to another site after signing in. */
export function safeNext(next: unknown, fallback = '/account/security'): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : fallback;
}

import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../platform/errors.js';
import { setDeviceCookie } from '../platform/http/device-cookie.js';
import { formBody } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { uuidParam } from '../platform/http/schemas.js';
import { authOf, requireUser, safeNext, setSessionCookie } from '../sessions/index.js';
import { ExternalProblemPage } from './pages.js';
import { type ExternalSignInService, FLOW_TTL_MS } from './service.js';

/** Binds a flow to the browser that started it: random, HttpOnly, ten minutes (A7). */
export const FLOW_COOKIE = '__Host-rampart_external';

const Provider = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', maxLength: 40 });
const providerParam = Type.Object({ provider: Provider }, { additionalProperties: false });
const nextQuery = Type.Object(
  { next: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
/**
 * The upstream's answer (RFC 6749 4.1.2, RFC 9207 iss). Providers add their own parameters (Google's
 * `authuser`, `hd`, `prompt`; `session_state`), so others are allowed, as bounded strings, few of them.
 */
const Param = (maxLength: number) => Type.Optional(Type.String({ maxLength }));
const callbackQuery = Type.Object(
  {
    code: Param(4096),
    state: Param(200),
    iss: Param(500),
    error: Param(200),
    error_description: Param(1000),
    error_uri: Param(1000),
  },
  { additionalProperties: Type.String({ maxLength: 2000 }), maxProperties: 20 },
);

export function externalSignInRoutes(app: FastifyInstance, service: ExternalSignInService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  const problem = (reply: FastifyReply, err: unknown, retry: { href: string; text: string }) => {
    if (!(err instanceof AppError) || err.redirectTo || (err.status >= 500 && err.code !== 'upstream_unavailable'))
      throw err;
    if (err.retryAfterSec !== undefined) reply.header('Retry-After', String(err.retryAfterSec));
    return reply
      .code(err.status)
      .render(
        'Sign-in did not go through',
        <ExternalProblemPage message={err.message} retryHref={retry.href} retryText={retry.text} />,
      );
  };
  const toSignIn = { href: '/signin', text: 'Back to sign-in' };
  const toAccount = { href: '/account/security#linked', text: 'Back to your account' };

  async function begin(
    request: FastifyRequest,
    reply: FastifyReply,
    provider: string,
    purpose: Parameters<ExternalSignInService['start']>[1],
  ) {
    const started = await service.start(provider, purpose, request.cookies[FLOW_COOKIE], requestContext(request));
    reply.setCookie(FLOW_COOKIE, started.browser, {
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'lax', // sent on the top-level GET back from the upstream
      maxAge: FLOW_TTL_MS / 1000,
    });
    // The page that posted this allowed the upstream in its form-action (browsers check every redirect of a form).
    return reply.redirect(started.url, 303);
  }

  // The "Continue with …" buttons of the sign-in page (a form: CSRF-checked like every state change).
  r.post(
    '/sign-in/external/:provider',
    { schema: { params: providerParam, querystring: nextQuery, body: formBody({}) } },
    async (request, reply) => {
      try {
        return await begin(request, reply, request.params.provider, { kind: 'sign_in', next: request.query.next });
      } catch (err) {
        return problem(reply, err, toSignIn);
      }
    },
  );

  // Linking from the account page: signed in, after step-up (a sensitive change, like adding a passkey).
  r.post(
    '/account/external/:provider/link',
    { schema: { params: providerParam, body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      try {
        return await begin(request, reply, request.params.provider, {
          kind: 'link',
          session: authOf(request).session,
        });
      } catch (err) {
        return problem(reply, err, toAccount);
      }
    },
  );

  // The upstream sends the browser back here: a GET protected by the single-use state and its cookie, not CSRF.
  r.get(
    '/sign-in/external/:provider/callback',
    { schema: { params: providerParam, querystring: callbackQuery } },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      let result: Awaited<ReturnType<ExternalSignInService['finish']>>;
      try {
        result = await service.finish(
          request.params.provider,
          query,
          request.cookies[FLOW_COOKIE],
          request.auth,
          requestContext(request),
        );
      } catch (err) {
        return problem(reply, err, request.auth ? toAccount : toSignIn);
      }
      if (result.kind === 'linked') return reply.redirect('/account/security?done=linked', 303);
      const { signedIn, next } = result;
      setSessionCookie(reply, signedIn.token, signedIn.session);
      setDeviceCookie(reply, signedIn.device);
      if (signedIn.session.secondFactorPending)
        return reply.redirect(`/signin/second-factor${next ? `?next=${encodeURIComponent(safeNext(next))}` : ''}`, 303);
      return reply.redirect(signedIn.user.emailVerified ? safeNext(next) : '/verify-email/pending', 303);
    },
  );

  r.post(
    '/account/external/:id/remove',
    { schema: { params: uuidParam, body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      try {
        await service.unlink(authOf(request).session, request.params.id, requestContext(request));
      } catch (err) {
        return problem(reply, err, toAccount);
      }
      return reply.redirect('/account/security?done=linked_removed', 303);
    },
  );
}

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Page } from '../platform/views/render.js';
import { AppError } from '../platform/errors.js';
import { formBody, validationErrors } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { Text, uuidParam } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { authOf, pendingOf, requirePendingSignIn, requireUser, safeNext, setSessionCookie } from '../sessions/index.js';
import { PASSKEY_SCRIPT } from './client-bundle.js';
import { hasSecondFactor } from './factors.js';
import { MfaRequiredPage, RecoveryCodesPage, SecondFactorPage, StepUpPage, TotpSetupPage } from './pages.js';
import type { PasskeyService } from './passkeys.js';
import type { MfaService } from './service.js';

const nextQuery = Type.Object(
  { next: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
const Code = Type.String({ minLength: 1, maxLength: 40 });
const CodeKind = Type.Unsafe<'totp' | 'recovery_code'>({ type: 'string', enum: ['totp', 'recovery_code'] });
const StepUpFactor = Type.Unsafe<'password' | 'totp'>({ type: 'string', enum: ['password', 'totp'] });
const PasskeyName = Text({ maxLength: 60 });
/** A page request whose query is `nextQuery`. */
type Next = FastifyRequest & { query: Static<typeof nextQuery> };

/** Secrets and one-time codes must not stay in caches or the back-forward history. */
const noStore = (reply: FastifyReply) => reply.header('Cache-Control', 'no-store');

/** An error a form shows next to its fields; anything else goes on to the error pages (or redirects). */
function formState(
  err: unknown,
  values: Record<string, string | undefined> = {},
): { status: number; state: FormState } {
  if (!(err instanceof AppError) || err.status >= 500 || err.redirectTo || err.status === 404) throw err;
  if (err.retryAfterSec !== undefined) return { status: err.status, state: { values, message: err.message } };
  return { status: err.status, state: { values, errors: err.fields, message: err.fields ? undefined : err.message } };
}

/** The names of the person's organizations that require a second factor (A6). */
export type OrgsRequiringMfa = (userId: string) => Promise<string[]>;

/** A4, A5, S2 pages: second factor at sign-in, step-up, TOTP and recovery codes, passkey management. */
export function mfaPageRoutes(
  app: FastifyInstance,
  mfa: MfaService,
  passkeys: PasskeyService,
  orgsRequiringMfa: OrgsRequiringMfa,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const csrf = (request: FastifyRequest, reply: FastifyReply) => request.csrfToken(reply);
  const show = (reply: FastifyReply, title: string, page: Page, status = 200, retryAfter?: number) => {
    if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
    return reply.code(status).render(title, page, [PASSKEY_SCRIPT]);
  };

  // Second factor of a sign-in (pending session)
  async function secondFactorPage(
    request: Next,
    reply: FastifyReply,
    extra: { state?: FormState; kind?: string; status?: number; retryAfter?: number } = {},
  ) {
    const factors = await mfa.state(pendingOf(request).user.id);
    return show(
      reply,
      'Confirm it is you',
      <SecondFactorPage
        csrf={csrf(request, reply)}
        factors={factors}
        state={extra.state}
        kind={extra.kind}
        next={request.query.next}
      />,
      extra.status,
      extra.retryAfter,
    );
  }
  r.get(
    '/signin/second-factor',
    { schema: { querystring: nextQuery }, preHandler: requirePendingSignIn },
    async (request, reply) => secondFactorPage(request, reply),
  );
  r.post(
    '/signin/second-factor',
    {
      schema: { querystring: nextQuery, body: formBody({ kind: CodeKind, code: Code }) },
      attachValidation: true,
      preHandler: requirePendingSignIn,
    },
    async (request, reply) => {
      const kind = request.body?.kind;
      const errors = validationErrors(request);
      if (errors) return secondFactorPage(request, reply, { state: { errors }, kind, status: 400 });
      try {
        const { token, session } = await mfa.completeSignIn(
          pendingOf(request),
          request.body.kind,
          request.body.code,
          requestContext(request),
        );
        setSessionCookie(reply, token, session);
      } catch (err) {
        const f = formState(err);
        return secondFactorPage(request, reply, {
          state: f.state,
          kind,
          status: f.status,
          retryAfter: err instanceof AppError ? err.retryAfterSec : undefined,
        });
      }
      return reply.redirect(safeNext(request.query.next), 303);
    },
  );

  // Step-up (S2)
  async function stepUpPage(request: Next, reply: FastifyReply, extra: { state?: FormState; status?: number } = {}) {
    const factors = await mfa.stepUpFactors(authOf(request).user.id);
    return show(
      reply,
      'Confirm it is you',
      <StepUpPage
        csrf={csrf(request, reply)}
        factors={factors}
        state={extra.state}
        next={safeNext(request.query.next)}
      />,
      extra.status,
    );
  }
  r.get('/account/step-up', { schema: { querystring: nextQuery }, preHandler: requireUser }, async (request, reply) =>
    stepUpPage(request, reply),
  );
  r.post(
    '/account/step-up',
    {
      schema: {
        querystring: nextQuery,
        body: formBody({ factor: StepUpFactor, secret: Type.String({ minLength: 1, maxLength: 1024 }) }),
      },
      attachValidation: true,
      preHandler: requireUser,
    },
    async (request, reply) => {
      const errors = validationErrors(request);
      if (errors) return stepUpPage(request, reply, { state: { errors }, status: 400 });
      const auth = authOf(request);
      try {
        const token = await mfa.stepUp(auth, request.body.factor, request.body.secret, requestContext(request));
        setSessionCookie(reply, token, auth.session);
      } catch (err) {
        const f = formState(err);
        if (err instanceof AppError && err.retryAfterSec !== undefined)
          reply.header('Retry-After', String(err.retryAfterSec));
        return stepUpPage(request, reply, {
          state: { ...f.state, errors: f.state.errors?.map((e) => ({ ...e, field: 'secret' })) },
          status: f.status,
        });
      }
      return reply.redirect(safeNext(request.query.next), 303);
    },
  );

  // A6: what an organization's MFA requirement asks of this person
  r.get(
    '/account/two-factor/required',
    { schema: { querystring: nextQuery }, preHandler: requireUser },
    async (request, reply) => {
      const userId = authOf(request).user.id;
      const [factors, orgs] = await Promise.all([mfa.state(userId), orgsRequiringMfa(userId)]);
      const page = (
        <MfaRequiredPage
          csrf={csrf(request, reply)}
          hasFactor={hasSecondFactor(factors)}
          next={safeNext(request.query.next, '/orgs')}
          orgs={orgs}
        />
      );
      return show(reply, 'Two-factor sign-in required', page, 403);
    },
  );

  // Authenticator app (A4)
  // `next`: where to go once the codes are saved (an organization that requires a second factor).
  r.get(
    '/account/totp/setup',
    { schema: { querystring: nextQuery }, preHandler: requireUser },
    async (request, reply) => {
      const { secret, uri } = await mfa.beginTotp(authOf(request), requestContext(request));
      noStore(reply);
      return show(
        reply,
        'Set up an authenticator app',
        <TotpSetupPage csrf={csrf(request, reply)} secret={secret} uri={uri} next={request.query.next} />,
      );
    },
  );
  r.post(
    '/account/totp/setup',
    {
      schema: { querystring: nextQuery, body: formBody({ code: Code }) },
      attachValidation: true,
      preHandler: requireUser,
    },
    async (request, reply) => {
      const auth = authOf(request);
      const next = request.query.next;
      const again = async (state: FormState, status: number) => {
        const pending = await mfa.pendingTotp(auth);
        if (!pending) return reply.redirect('/account/totp/setup', 303);
        noStore(reply);
        return show(
          reply,
          'Set up an authenticator app',
          <TotpSetupPage
            csrf={csrf(request, reply)}
            secret={pending.secret}
            uri={pending.uri}
            state={state}
            next={next}
          />,
          status,
        );
      };
      const errors = validationErrors(request);
      if (errors) return again({ errors }, 400);
      try {
        const { codes, token } = await mfa.confirmTotp(auth, request.body.code, requestContext(request));
        setSessionCookie(reply, token, auth.session);
        noStore(reply);
        return show(
          reply,
          'Two-factor sign-in is on',
          <RecoveryCodesPage codes={codes} replaced={0} first next={safeNext(next)} />,
        );
      } catch (err) {
        const f = formState(err);
        return again(f.state, f.status);
      }
    },
  );
  r.post(
    '/account/totp/disable',
    { schema: { body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      await mfa.disableTotp(authOf(request), requestContext(request));
      return reply.redirect('/account/security?done=totp_off', 303);
    },
  );
  // `next`: after a first passkey, where the person was going (the passkey script posts here).
  r.post(
    '/account/recovery-codes',
    { schema: { querystring: nextQuery, body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      const { codes, replaced } = await mfa.regenerateRecoveryCodes(authOf(request), requestContext(request));
      noStore(reply);
      return show(
        reply,
        'Recovery codes',
        <RecoveryCodesPage
          codes={codes}
          replaced={replaced}
          next={safeNext(request.query.next, '/account/security')}
        />,
      );
    },
  );

  // Passkeys (A5): adding one is a script ceremony (see api.ts); renaming and removing are forms
  r.post(
    '/account/passkeys/:id/rename',
    { schema: { params: uuidParam, body: formBody({ name: PasskeyName }) }, preHandler: requireUser },
    async (request, reply) => {
      await passkeys.rename(authOf(request), request.params.id, request.body.name, requestContext(request));
      return reply.redirect('/account/security?done=passkey_renamed#passkeys', 303);
    },
  );
  r.post(
    '/account/passkeys/:id/delete',
    { schema: { params: uuidParam, body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      await passkeys.remove(authOf(request), request.params.id, requestContext(request));
      return reply.redirect('/account/security?done=passkey_removed#passkeys', 303);
    },
  );
}

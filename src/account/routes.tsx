import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IdentityService } from '../identity/index.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { Email, uuidParam } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import type { AccountSessions } from './sessions.js';
import { authOf, clearSessionCookie, requireUser } from '../sessions/index.js';
import type { MfaService } from '../mfa/index.js';
import type { PasskeyService } from '../mfa/index.js';
import { PASSKEY_SCRIPT } from '../mfa/index.js';
import type { ExternalSignInService } from '../external-signin/index.js';
import { allowFormTargets } from '../platform/http/security-headers.js';
import { SecurityPage } from './pages.js';

const NOTICES: Record<string, string> = {
  revoked: 'That session is signed out.',
  others: 'Every other session is signed out.',
  password: 'Your password is changed, and every other session is signed out.',
  email_sent: 'We e-mailed a link to the new address. Your sign-in address changes when you open it (within an hour).',
  email_changed: 'Your sign-in address is changed. Your old address was told.',
  totp_off: 'The authenticator app is turned off.',
  passkey: 'The passkey is added. You can now sign in with it.',
  passkey_renamed: 'The passkey is renamed.',
  passkey_removed: 'The passkey is removed: it no longer signs you in.',
  linked: 'The account is linked. You can now sign in with it.',
  linked_removed: 'The linked account is removed: it no longer signs you in.',
};
// Only the notices there are: a lookup by any other key ("constructor") would find something else.
const noticeQuery = Type.Object(
  { done: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: Object.keys(NOTICES) })) },
  { additionalProperties: false },
);
const Password = Type.String({ minLength: 1, maxLength: 1024 });

/** S4: the account security page and its forms. */
export function accountPageRoutes(
  app: FastifyInstance,
  account: AccountSessions,
  identity: IdentityService,
  mfa: MfaService,
  passkeys: PasskeyService,
  external: ExternalSignInService,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  async function securityPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: {
      passwordState?: FormState;
      emailState?: FormState;
      notice?: string;
      status?: number;
      retryAfter?: number;
    } = {},
  ) {
    if (extra.retryAfter) reply.header('Retry-After', String(extra.retryAfter));
    const { session, user } = authOf(request);
    const [sessions, history, factors, keys, linked, providers] = await Promise.all([
      account.list(user.id),
      account.history(user.id),
      mfa.state(user.id),
      passkeys.list(user.id),
      external.linked(user.id),
      external.providers(),
    ]);
    // A7: the "Link" forms redirect to the provider's site, which the page's form-action must allow.
    const linkable = providers.filter((p) => !linked.some((l) => l.providerId === p.id));
    if (linkable.length > 0)
      allowFormTargets(
        reply,
        linkable.map((p) => p.target),
      );
    return reply
      .code(extra.status ?? 200)
      .render(
        'Account security',
        <SecurityPage
          csrf={request.csrfToken(reply)}
          email={user.email}
          current={session}
          sessions={sessions}
          history={history}
          factors={factors}
          passkeys={keys}
          linked={linked}
          linkable={linkable}
          score={mfa.scoreOf(factors)}
          passwordState={extra.passwordState}
          emailState={extra.emailState}
          notice={extra.notice}
        />,
        [PASSKEY_SCRIPT],
      );
  }

  r.get(
    '/account/security',
    { schema: { querystring: noticeQuery }, preHandler: requireUser },
    async (request, reply) =>
      securityPage(request, reply, { notice: request.query.done ? NOTICES[request.query.done] : undefined }),
  );

  r.post(
    '/account/sessions/:id/revoke',
    { schema: { params: uuidParam, body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      await account.revoke(authOf(request).session, request.params.id, requestContext(request));
      return reply.redirect('/account/security?done=revoked', 303);
    },
  );

  r.post(
    '/account/sessions/revoke-others',
    { schema: { body: formBody({}) }, preHandler: requireUser },
    async (request, reply) => {
      await account.revokeOthers(authOf(request).session, requestContext(request));
      return reply.redirect('/account/security?done=others', 303);
    },
  );

  r.post(
    '/account/password',
    {
      schema: { body: formBody({ currentPassword: Password, newPassword: Password }) },
      attachValidation: true,
      preHandler: requireUser,
    },
    async (request, reply) => {
      const errors = validationErrors(request);
      if (errors) return securityPage(request, reply, { passwordState: { errors }, status: 400 });
      try {
        await identity.changePassword(
          authOf(request).session,
          request.body.currentPassword,
          request.body.newPassword,
          requestContext(request),
        );
      } catch (err) {
        const f = formFailure(err); // passwords are never shown again
        return securityPage(request, reply, { passwordState: f.state, status: f.status, retryAfter: f.retryAfter });
      }
      return reply.redirect('/account/security?done=password', 303);
    },
  );

  r.post(
    '/account/email',
    { schema: { body: formBody({ email: Email }) }, attachValidation: true, preHandler: requireUser },
    async (request, reply) => {
      const values = { email: typeof request.body?.email === 'string' ? request.body.email : undefined };
      const errors = validationErrors(request);
      if (errors) return securityPage(request, reply, { emailState: { errors, values }, status: 400 });
      try {
        await identity.requestEmailChange(authOf(request).session, request.body.email, requestContext(request));
      } catch (err) {
        const f = formFailure(err, values);
        return securityPage(request, reply, { emailState: f.state, status: f.status, retryAfter: f.retryAfter });
      }
      return reply.redirect('/account/security?done=email_sent', 303);
    },
  );

  for (const [path, everywhere] of [
    ['/signout', false],
    ['/signout-everywhere', true],
  ] as const) {
    // A sign-in waiting for its second factor can be abandoned too.
    r.post(path, { schema: { body: formBody({}) } }, async (request, reply) => {
      const current = request.auth ?? request.pendingSignIn;
      if (!current) return reply.redirect('/signin', 303);
      await account.signOut(current.session, requestContext(request), everywhere);
      clearSessionCookie(reply);
      return reply.redirect('/', 303);
    });
  }
}

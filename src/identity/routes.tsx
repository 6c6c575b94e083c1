import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Page } from '../platform/views/render.js';
import { AppError } from '../platform/errors.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { setDeviceCookie } from '../platform/http/device-cookie.js';
import { requestContext } from '../platform/http/request-context.js';
import { Email, noInput } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { authOf, requireSession, safeNext, setSessionCookie } from '../sessions/index.js';
import { PASSKEY_SCRIPT } from '../mfa/index.js';
import type { IdentityService, SignedIn, SignInOption } from './service.js';
import { allowFormTargets } from '../platform/http/security-headers.js';
import {
  CheckEmailPage,
  ConfirmLinkPage,
  EmailVerifiedPage,
  LinkProblemPage,
  RequestLinkPage,
  ResetPasswordPage,
  SignInPage,
  SignUpPage,
} from './pages.js';
import { MAX_PASSWORD_LENGTH } from './password-policy.js';

const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH * 4 });
const Token = Type.String({ minLength: 1, maxLength: 100 });
const tokenQuery = Type.Object({ token: Token }, { additionalProperties: false });
const nextQuery = Type.Object(
  { next: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);

function showForm(
  reply: FastifyReply,
  title: string,
  page: Page,
  status = 200,
  retryAfter?: number,
  scripts?: string[],
) {
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  return reply.code(status).render(title, page, scripts);
}

function signedIn(reply: FastifyReply, result: SignedIn, next?: string) {
  setSessionCookie(reply, result.token, result.session);
  setDeviceCookie(reply, result.device);
  if (result.session.secondFactorPending)
    return reply.redirect(`/signin/second-factor${next ? `?next=${encodeURIComponent(safeNext(next))}` : ''}`, 303);
  return reply.redirect(result.user.emailVerified ? safeNext(next) : '/verify-email/pending', 303);
}

/** The sign-in form buttons of other features redirect to other sites: the page's form-action allows them. */
function allowOptionTargets(reply: FastifyReply, options: readonly SignInOption[]) {
  const targets = options.flatMap((o) => (o.target ? [o.target] : []));
  if (targets.length > 0) allowFormTargets(reply, targets);
}

export function identityPageRoutes(app: FastifyInstance, identity: IdentityService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const csrf = (request: FastifyRequest, reply: FastifyReply) => request.csrfToken(reply);

  // Sign-up (A1)
  r.get('/signup', { schema: noInput }, async (request, reply) =>
    reply.render('Create account', <SignUpPage csrf={csrf(request, reply)} />),
  );
  r.post(
    '/signup',
    { schema: { body: formBody({ email: Email, password: Password }) }, attachValidation: true },
    async (request, reply) => {
      const values = { email: request.body?.email };
      const errors = validationErrors(request);
      if (errors)
        return showForm(
          reply,
          'Create account',
          <SignUpPage csrf={csrf(request, reply)} state={{ values, errors }} />,
          400,
        );
      try {
        await identity.signUp(request.body.email, request.body.password, requestContext(request));
      } catch (err) {
        const f = formFailure(err, values);
        return showForm(
          reply,
          'Create account',
          <SignUpPage csrf={csrf(request, reply)} state={f.state} />,
          f.status,
          f.retryAfter,
        );
      }
      return reply.redirect('/signup/check-email', 303);
    },
  );
  r.get('/signup/check-email', { schema: noInput }, async (request, reply) =>
    reply.render('Check your e-mail', <CheckEmailPage csrf={csrf(request, reply)} />),
  );

  // E-mail verification (A1)
  r.get('/verify-email', { schema: { querystring: tokenQuery } }, async (request, reply) =>
    reply.render(
      'Confirm your e-mail',
      <ConfirmLinkPage
        heading="Confirm your e-mail address"
        text="One click and your account is ready."
        action="/verify-email"
        token={request.query.token}
        csrf={csrf(request, reply)}
        button="Confirm my address"
      />,
    ),
  );
  r.post('/verify-email', { schema: { body: formBody({ token: Token }) } }, async (request, reply) => {
    try {
      await identity.verifyEmail(request.body.token, requestContext(request));
    } catch (err) {
      const f = formFailure(err, {});
      return showForm(
        reply,
        'Link problem',
        <LinkProblemPage message={f.state.message ?? ''} retryHref="/signup/check-email" retryText="Send a new link" />,
        f.status,
        f.retryAfter,
      );
    }
    return reply.render('E-mail confirmed', <EmailVerifiedPage signedIn={!!request.auth} />);
  });
  r.get('/verify-email/pending', { schema: noInput, preHandler: requireSession }, async (request, reply) =>
    reply.render(
      'Check your e-mail',
      <CheckEmailPage email={authOf(request).user.email} csrf={csrf(request, reply)} />,
    ),
  );
  r.post(
    '/verify-email/resend',
    { schema: { body: formBody({ email: Email }) }, attachValidation: true },
    async (request, reply) => {
      const email = request.body?.email;
      if (!validationErrors(request)) {
        try {
          await identity.resendVerification(email, requestContext(request));
        } catch (err) {
          const f = formFailure(err, { email });
          return showForm(
            reply,
            'Check your e-mail',
            <LinkProblemPage message={f.state.message ?? ''} retryHref="/signup/check-email" retryText="Back" />,
            f.status,
            f.retryAfter,
          );
        }
      }
      return reply.render('Check your e-mail', <CheckEmailPage email={email} csrf={csrf(request, reply)} resent />);
    },
  );

  // Sign-in with password
  r.get('/signin', { schema: { querystring: nextQuery } }, async (request, reply) => {
    if (request.auth?.user.emailVerified) return reply.redirect(safeNext(request.query.next), 303);
    const options = await identity.signInOptions();
    allowOptionTargets(reply, options);
    return reply.render(
      'Sign in',
      <SignInPage csrf={csrf(request, reply)} next={request.query.next} options={options} />,
      [PASSKEY_SCRIPT],
    );
  });
  r.post(
    '/signin',
    {
      schema: { body: formBody({ email: Email, password: Password }), querystring: nextQuery },
      attachValidation: true,
    },
    async (request, reply) => {
      const values = { email: request.body?.email };
      const options = await identity.signInOptions();
      allowOptionTargets(reply, options);
      const page = (state: FormState) => (
        <SignInPage csrf={csrf(request, reply)} state={state} next={request.query.next} options={options} />
      );
      const errors = validationErrors(request);
      if (errors) return showForm(reply, 'Sign in', page({ values, errors }), 400, undefined, [PASSKEY_SCRIPT]);
      try {
        return signedIn(
          reply,
          await identity.signInWithPassword(request.body.email, request.body.password, requestContext(request)),
          request.query.next,
        );
      } catch (err) {
        const f = formFailure(err, values);
        return showForm(reply, 'Sign in', page(f.state), f.status, f.retryAfter, [PASSKEY_SCRIPT]);
      }
    },
  );

  // Magic links (A2) and password reset (A3): request forms
  for (const flow of [
    {
      path: '/magic-link',
      title: 'Sign in by e-mail',
      intro: 'We will e-mail you a link that signs you in. It works once, for 15 minutes.',
      button: 'E-mail me a link',
      run: identity.requestMagicLink,
    },
    {
      path: '/forgot-password',
      title: 'Reset your password',
      intro: 'We will e-mail you a link to choose a new password. It works once, for 1 hour.',
      button: 'E-mail me a reset link',
      run: identity.requestPasswordReset,
    },
  ]) {
    const page = (request: FastifyRequest, reply: FastifyReply, extra: { state?: FormState; sent?: boolean } = {}) => (
      <RequestLinkPage
        heading={flow.title}
        intro={flow.intro}
        action={flow.path}
        button={flow.button}
        csrf={csrf(request, reply)}
        {...extra}
      />
    );
    r.get(flow.path, { schema: noInput }, async (request, reply) => reply.render(flow.title, page(request, reply)));
    r.post(
      flow.path,
      { schema: { body: formBody({ email: Email }) }, attachValidation: true },
      async (request, reply) => {
        const values = { email: request.body?.email };
        const errors = validationErrors(request);
        if (errors) return showForm(reply, flow.title, page(request, reply, { state: { values, errors } }), 400);
        try {
          await flow.run(request.body.email, requestContext(request));
        } catch (err) {
          const f = formFailure(err, values);
          return showForm(reply, flow.title, page(request, reply, { state: f.state }), f.status, f.retryAfter);
        }
        return reply.render(flow.title, page(request, reply, { sent: true, state: { values } }));
      },
    );
  }

  r.get('/magic-link/confirm', { schema: { querystring: tokenQuery } }, async (request, reply) =>
    reply.render(
      'Sign in',
      <ConfirmLinkPage
        heading="Sign in"
        text="Continue to sign in with the link we e-mailed you."
        action="/magic-link/confirm"
        token={request.query.token}
        csrf={csrf(request, reply)}
        button="Sign me in"
      />,
    ),
  );
  r.post('/magic-link/confirm', { schema: { body: formBody({ token: Token }) } }, async (request, reply) => {
    try {
      return signedIn(reply, await identity.signInWithMagicLink(request.body.token, requestContext(request)));
    } catch (err) {
      const f = formFailure(err, {});
      return showForm(
        reply,
        'Link problem',
        <LinkProblemPage message={f.state.message ?? ''} retryHref="/magic-link" retryText="E-mail me a new link" />,
        f.status,
        f.retryAfter,
      );
    }
  });

  // S2: the link mailed to a new sign-in address. Opening it changes nothing; the button does.
  const addressLinkProblem = (reply: FastifyReply, message: string, status: number, retryAfter?: number) =>
    showForm(
      reply,
      'Link problem',
      <LinkProblemPage
        message={message}
        retryHref="/account/security#email-heading"
        retryText="Ask for a new link from your account"
      />,
      status,
      retryAfter,
    );
  r.get('/account/email/confirm', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    const target = await identity.emailChangeTarget(request.query.token);
    if (!target) return addressLinkProblem(reply, 'This link is invalid, expired, or already used.', 400);
    const text = `Make ${target} the address your account signs in with.`;
    return reply.render(
      'Change your sign-in address',
      <ConfirmLinkPage
        heading="Change your sign-in address"
        text={text}
        action="/account/email/confirm"
        token={request.query.token}
        csrf={csrf(request, reply)}
        button="Use this address"
      />,
    );
  });
  r.post('/account/email/confirm', { schema: { body: formBody({ token: Token }) } }, async (request, reply) => {
    try {
      const { userId, email } = await identity.confirmEmailChange(request.body.token, requestContext(request));
      // Signed in as that account here: its page shows the new address (this request began with the old one).
      if (request.auth?.user.id === userId) return reply.redirect('/account/security?done=email_changed', 303);
      return reply.render('Address changed', <EmailVerifiedPage signedIn={false} changedTo={email} />);
    } catch (err) {
      const f = formFailure(err, {});
      return addressLinkProblem(reply, f.state.message ?? '', f.status, f.retryAfter);
    }
  });

  r.get('/reset-password', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    if (!(await identity.resetLinkIsValid(request.query.token))) {
      return showForm(
        reply,
        'Link problem',
        <LinkProblemPage
          message="This reset link is invalid, expired, or already used."
          retryHref="/forgot-password"
          retryText="E-mail me a new link"
        />,
        400,
      );
    }
    return reply.render(
      'Choose a new password',
      <ResetPasswordPage csrf={csrf(request, reply)} token={request.query.token} />,
    );
  });
  r.post(
    '/reset-password',
    { schema: { body: formBody({ token: Token, password: Password }) }, attachValidation: true },
    async (request, reply) => {
      const token = request.body?.token ?? '';
      const errors = validationErrors(request);
      if (errors)
        return showForm(
          reply,
          'Choose a new password',
          <ResetPasswordPage csrf={csrf(request, reply)} token={token} state={{ errors }} />,
          400,
        );
      try {
        return signedIn(
          reply,
          await identity.resetPassword(token, request.body.password, requestContext(request)),
          '/account/security',
        );
      } catch (err) {
        const f = formFailure(err, {});
        if (err instanceof AppError && err.code === 'invalid_link') {
          return showForm(
            reply,
            'Link problem',
            <LinkProblemPage message={err.message} retryHref="/forgot-password" retryText="E-mail me a new link" />,
            f.status,
          );
        }
        return showForm(
          reply,
          'Choose a new password',
          <ResetPasswordPage csrf={csrf(request, reply)} token={token} state={f.state} />,
          f.status,
          f.retryAfter,
        );
      }
    },
  );
}

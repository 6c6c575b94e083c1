import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { setDeviceCookie } from '../platform/http/device-cookie.js';
import { requestContext } from '../platform/http/request-context.js';
import { Email } from '../platform/http/schemas.js';
import { authOf, requireUser, setSessionCookie } from '../sessions/index.js';
import { SignedInJson } from '../sessions/index.js';
import type { IdentityService, SignedIn } from './service.js';
import { MAX_PASSWORD_LENGTH } from './password-policy.js';

const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH * 4 });
const Token = Type.String({ minLength: 1, maxLength: 100 });
const body = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });

const Accepted = Type.Object(
  { status: Type.Literal('accepted') },
  { description: 'Answered the same whether or not an account exists.' },
);
const tags = ['identity'];

function signedIn(reply: FastifyReply, result: SignedIn) {
  setSessionCookie(reply, result.token, result.session);
  setDeviceCookie(reply, result.device);
  return { user: result.user, secondFactorRequired: result.session.secondFactorPending };
}

/** JSON versions of the identity flows (A1-A3) under /api/v1; a browser-session cookie carries the result. */
export function identityApiRoutes(app: FastifyInstance, identity: IdentityService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const accepted = { status: 'accepted' as const };

  r.post(
    '/api/v1/signup',
    {
      schema: {
        tags,
        summary: 'Create an account; a verification link is mailed',
        body: body({ email: Email, password: Password }),
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await identity.signUp(request.body.email, request.body.password, requestContext(request));
      return reply.code(202).send(accepted);
    },
  );

  r.post(
    '/api/v1/email-verification',
    {
      schema: {
        tags,
        summary: 'Confirm an e-mail address with the mailed token',
        body: body({ token: Token }),
        response: { 200: Type.Object({ verified: Type.Boolean() }) },
      },
    },
    async (request) => {
      await identity.verifyEmail(request.body.token, requestContext(request));
      return { verified: true };
    },
  );

  r.post(
    '/api/v1/email-verification/resend',
    {
      schema: {
        tags,
        summary: 'Mail a new verification link (if one is due)',
        body: body({ email: Email }),
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await identity.resendVerification(request.body.email, requestContext(request));
      return reply.code(202).send(accepted);
    },
  );

  r.post(
    '/api/v1/signin',
    {
      schema: {
        tags,
        summary: 'Sign in with e-mail and password; sets the session cookie',
        body: body({ email: Email, password: Password }),
        response: { 200: SignedInJson },
      },
    },
    async (request, reply) =>
      signedIn(
        reply,
        await identity.signInWithPassword(request.body.email, request.body.password, requestContext(request)),
      ),
  );

  r.post(
    '/api/v1/magic-links',
    {
      schema: {
        tags,
        summary: 'Mail a single-use sign-in link (15 minutes)',
        body: body({ email: Email }),
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await identity.requestMagicLink(request.body.email, requestContext(request));
      return reply.code(202).send(accepted);
    },
  );

  r.post(
    '/api/v1/magic-links/consume',
    {
      schema: {
        tags,
        summary: 'Sign in with a mailed link token; sets the session cookie',
        body: body({ token: Token }),
        response: { 200: SignedInJson },
      },
    },
    async (request, reply) =>
      signedIn(reply, await identity.signInWithMagicLink(request.body.token, requestContext(request))),
  );

  r.post(
    '/api/v1/password-resets',
    {
      schema: {
        tags,
        summary: 'Mail a single-use password reset link (1 hour)',
        body: body({ email: Email }),
        response: { 202: Accepted },
      },
    },
    async (request, reply) => {
      await identity.requestPasswordReset(request.body.email, requestContext(request));
      return reply.code(202).send(accepted);
    },
  );

  r.post(
    '/api/v1/password-resets/complete',
    {
      schema: {
        tags,
        summary: 'Set a new password with a reset token: every session is revoked, then this client is signed in',
        body: body({ token: Token, password: Password }),
        response: { 200: SignedInJson },
      },
    },
    async (request, reply) =>
      signedIn(reply, await identity.resetPassword(request.body.token, request.body.password, requestContext(request))),
  );

  r.post(
    '/api/v1/me/email',
    {
      schema: {
        tags,
        summary: 'Ask to change your sign-in address (step-up): a single-use link (1 hour) goes to the new address',
        body: body({ email: Email }),
        response: { 202: Accepted },
      },
      preHandler: requireUser,
    },
    async (request, reply) => {
      await identity.requestEmailChange(authOf(request).session, request.body.email, requestContext(request));
      return reply.code(202).send(accepted);
    },
  );

  r.post(
    '/api/v1/email-changes/confirm',
    {
      schema: {
        tags,
        summary: 'Use the link mailed to the new address: the account moves there, verified',
        body: body({ token: Token }),
        response: { 200: Type.Object({ email: Type.String() }) },
      },
    },
    async (request) => ({
      email: (await identity.confirmEmailChange(request.body.token, requestContext(request))).email,
    }),
  );
}

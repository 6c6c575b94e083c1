import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SignedInJson } from '../sessions/index.js';
import { requestContext } from '../platform/http/request-context.js';
import { NoBody, noInput, Text, uuidParam } from '../platform/http/schemas.js';
import { authOf, pendingOf, requirePendingSignIn, requireUser, setSessionCookie } from '../sessions/index.js';
import type { PasskeyService } from './passkeys.js';
import type { MfaService } from './service.js';

const tags = ['two-factor'];
const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
// WebAuthn JSON is defined by the spec and checked by @simplewebauthn; the schema bounds its shape.
const Json = Type.Object({}, { additionalProperties: true });
const Credential = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1400 }),
    rawId: Type.String({ maxLength: 1400 }),
    type: Type.Literal('public-key'),
    response: Json,
    clientExtensionResults: Json,
  },
  { additionalProperties: true },
);
/** What the browser's startAuthentication() sends; the schema bounds its shape, @simplewebauthn checks the rest. */
const Assertion = Type.Unsafe<AuthenticationResponseJSON>(Credential);
/** What the browser's startRegistration() sends (same bounds). */
const Attestation = Type.Unsafe<RegistrationResponseJSON>(Credential);
const CredentialBody = strict({ response: Assertion });
const Code = Type.String({ minLength: 1, maxLength: 40 });
const PasskeyName = Text({ maxLength: 60 });
const PasskeyJson = Type.Object({
  recoveryCodesDue: Type.Optional(
    Type.Boolean({
      description:
        'After registering: the account has no unused recovery codes; make a set (POST ' +
        '/api/v1/account/recovery-codes).',
    }),
  ),
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  backedUp: Type.Boolean(),
});
const Codes = Type.Object({ recoveryCodes: Type.Array(Type.String()) });
const Ok = Type.Object({ ok: Type.Literal(true) });
const NoContent = { 204: NoBody };
const ok = { ok: true as const };

/** A4, A5, S2, A9 as JSON; the passkey ceremonies of the pages use these too. */
export function mfaApiRoutes(app: FastifyInstance, mfa: MfaService, passkeys: PasskeyService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const user = { preHandler: requireUser };
  const pending = { preHandler: requirePendingSignIn };

  r.get(
    '/api/v1/account/two-factor',
    {
      ...user,
      schema: {
        tags,
        summary: 'Your second factors and security score (A9)',
        ...noInput,
        response: {
          200: Type.Object({
            totp: Type.Boolean(),
            recoveryCodesLeft: Type.Integer(),
            passkeys: Type.Array(PasskeyJson),
            score: Type.Object({
              score: Type.Integer(),
              steps: Type.Array(Type.Object({ text: Type.String(), href: Type.String(), points: Type.Integer() })),
            }),
          }),
        },
      },
    },
    async (request) => {
      const userId = authOf(request).user.id;
      const [state, keys, score] = await Promise.all([mfa.state(userId), passkeys.list(userId), mfa.score(userId)]);
      return {
        totp: state.totp,
        recoveryCodesLeft: state.recoveryCodesLeft,
        passkeys: keys.map((k) => ({
          ...k,
          createdAt: k.createdAt.toISOString(),
          lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
        })),
        score,
      };
    },
  );

  // Sign-in: passwordless passkey, or the second factor of a pending sign-in
  r.post(
    '/api/v1/signin/passkey/options',
    {
      schema: {
        tags,
        summary: 'Challenge for passwordless sign-in with a passkey',
        ...noInput,
        response: { 200: Json },
      },
    },
    async (request) => passkeys.signInOptions(requestContext(request)),
  );
  r.post(
    '/api/v1/signin/passkey',
    {
      schema: {
        tags,
        summary: 'Sign in with a passkey (discoverable credential, user verification required)',
        body: CredentialBody,
        response: { 200: SignedInJson },
      },
    },
    async (request, reply) => {
      const result = await passkeys.signIn(request.body.response, requestContext(request));
      setSessionCookie(reply, result.token, result.session);
      return { user: result.user, secondFactorRequired: false };
    },
  );
  r.post(
    '/api/v1/signin/second-factor',
    {
      ...pending,
      schema: {
        tags,
        summary: 'Finish a sign-in with an app code or a recovery code; the session id rotates',
        body: strict({
          kind: Type.Unsafe<'totp' | 'recovery_code'>({ type: 'string', enum: ['totp', 'recovery_code'] }),
          code: Code,
        }),
        response: { 200: Ok },
      },
    },
    async (request, reply) => {
      const { token, session } = await mfa.completeSignIn(
        pendingOf(request),
        request.body.kind,
        request.body.code,
        requestContext(request),
      );
      setSessionCookie(reply, token, session);
      return ok;
    },
  );
  r.post(
    '/api/v1/signin/second-factor/passkey/options',
    {
      ...pending,
      schema: { tags, summary: 'Challenge for a passkey as second factor', ...noInput, response: { 200: Json } },
    },
    async (request) => passkeys.secondFactorOptions(pendingOf(request), requestContext(request)),
  );
  r.post(
    '/api/v1/signin/second-factor/passkey',
    {
      ...pending,
      schema: {
        tags,
        summary: 'Finish a sign-in with a passkey; the session id rotates',
        body: CredentialBody,
        response: { 200: Ok },
      },
    },
    async (request, reply) => {
      const { token, session } = await passkeys.completeSignIn(
        pendingOf(request),
        request.body.response,
        requestContext(request),
      );
      setSessionCookie(reply, token, session);
      return ok;
    },
  );

  // Step-up (S2)
  r.post(
    '/api/v1/account/step-up',
    {
      ...user,
      schema: {
        tags,
        summary: 'Re-authenticate for sensitive actions (10 minutes); the session id rotates',
        body: strict({
          factor: Type.Unsafe<'password' | 'totp'>({ type: 'string', enum: ['password', 'totp'] }),
          secret: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        response: { 200: Ok },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      setSessionCookie(
        reply,
        await mfa.stepUp(auth, request.body.factor, request.body.secret, requestContext(request)),
        auth.session,
      );
      return ok;
    },
  );
  r.post(
    '/api/v1/account/step-up/passkey/options',
    { ...user, schema: { tags, summary: 'Challenge for step-up with a passkey', ...noInput, response: { 200: Json } } },
    async (request) => passkeys.stepUpOptions(authOf(request), requestContext(request)),
  );
  r.post(
    '/api/v1/account/step-up/passkey',
    {
      ...user,
      schema: {
        tags,
        summary: 'Re-authenticate with a passkey; the session id rotates',
        body: CredentialBody,
        response: { 200: Ok },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      setSessionCookie(
        reply,
        await passkeys.stepUp(auth, request.body.response, requestContext(request)),
        auth.session,
      );
      return ok;
    },
  );

  // Authenticator app and recovery codes (A4)
  r.post(
    '/api/v1/account/totp',
    {
      ...user,
      schema: {
        tags,
        summary: 'Start setting up an authenticator app (step-up); returns the secret and otpauth URI',
        ...noInput,
        response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }) },
      },
    },
    async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      return mfa.beginTotp(authOf(request), requestContext(request));
    },
  );
  r.post(
    '/api/v1/account/totp/confirm',
    {
      ...user,
      schema: {
        tags,
        summary: 'Confirm the app with a first code; returns ten recovery codes, shown once',
        body: strict({ code: Code }),
        response: { 200: Codes },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { codes, token } = await mfa.confirmTotp(auth, request.body.code, requestContext(request));
      setSessionCookie(reply, token, auth.session);
      reply.header('Cache-Control', 'no-store');
      return { recoveryCodes: codes };
    },
  );
  r.delete(
    '/api/v1/account/totp',
    { ...user, schema: { tags, summary: 'Turn the authenticator app off (step-up)', ...noInput, response: NoContent } },
    async (request, reply) => {
      await mfa.disableTotp(authOf(request), requestContext(request));
      return reply.code(204).send();
    },
  );
  r.post(
    '/api/v1/account/recovery-codes',
    {
      ...user,
      schema: {
        tags,
        summary: 'Replace the recovery codes (step-up); returns the new ten, shown once',
        ...noInput,
        response: { 200: Codes },
      },
    },
    async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      return { recoveryCodes: (await mfa.regenerateRecoveryCodes(authOf(request), requestContext(request))).codes };
    },
  );

  // Passkeys (A5)
  r.post(
    '/api/v1/account/passkeys/options',
    {
      ...user,
      schema: { tags, summary: 'Challenge to register a passkey (step-up)', ...noInput, response: { 200: Json } },
    },
    async (request) => passkeys.registrationOptions(authOf(request), requestContext(request)),
  );
  r.post(
    '/api/v1/account/passkeys',
    {
      ...user,
      schema: {
        tags,
        summary: 'Register a passkey under a name; the session id rotates',
        body: strict({ name: PasskeyName, response: Attestation }),
        response: { 201: PasskeyJson },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const { passkey, token, recoveryCodesDue } = await passkeys.register(
        auth,
        request.body.name,
        request.body.response,
        requestContext(request),
      );
      setSessionCookie(reply, token, auth.session);
      return reply
        .code(201)
        .send({ ...passkey, createdAt: passkey.createdAt.toISOString(), lastUsedAt: null, recoveryCodesDue });
    },
  );
  r.patch(
    '/api/v1/account/passkeys/:id',
    {
      ...user,
      schema: {
        tags,
        summary: 'Rename a passkey',
        params: uuidParam,
        body: strict({ name: PasskeyName }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await passkeys.rename(authOf(request), request.params.id, request.body.name, requestContext(request));
      return reply.code(204).send();
    },
  );
  r.delete(
    '/api/v1/account/passkeys/:id',
    { ...user, schema: { tags, summary: 'Revoke a passkey (step-up)', params: uuidParam, response: NoContent } },
    async (request, reply) => {
      await passkeys.remove(authOf(request), request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );
}

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { UserJson } from '../sessions/index.js';
import type { IdentityService } from '../identity/index.js';
import { requestContext } from '../platform/http/request-context.js';
import { NoBody, noInput, uuidParam } from '../platform/http/schemas.js';
import type { AccountSessions } from './sessions.js';
import { authOf, clearSessionCookie, requireSession, requireUser } from '../sessions/index.js';
import { describeDevice } from './pages.js';
import type { Session } from '../sessions/index.js';

const tags = ['sessions'];
const SessionJson = Type.Object({
  id: Type.String({ format: 'uuid' }),
  current: Type.Boolean(),
  device: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  method: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const HistoryJson = Type.Object({
  at: Type.String({ format: 'date-time' }),
  action: Type.String(),
  method: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
});

/** A session as the API and the S4 live check show it. */
export function sessionJson(s: Session, current: Session) {
  return {
    id: s.id,
    current: s.id === current.id,
    device: describeDevice(s.userAgent),
    userAgent: s.userAgent,
    ip: s.ip,
    method: s.method,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    expiresAt: new Date(Math.min(s.idleExpiresAt.getTime(), s.absoluteExpiresAt.getTime())).toISOString(),
  };
}

/** S4 as JSON: who am I, my sessions, my sign-in history, sign out. */
export function accountApiRoutes(app: FastifyInstance, account: AccountSessions, identity: IdentityService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/me',
    {
      schema: {
        tags,
        summary: 'The signed-in user and session',
        ...noInput,
        response: { 200: Type.Object({ user: UserJson, session: SessionJson }) },
      },
      preHandler: requireSession,
    },
    async (request) => {
      const { user, session } = authOf(request);
      return { user, session: sessionJson(session, session) };
    },
  );

  r.get(
    '/api/v1/csrf-token',
    {
      schema: {
        tags,
        summary: 'The CSRF token to send as X-CSRF-Token with state-changing requests',
        ...noInput,
        response: { 200: Type.Object({ token: Type.String() }) },
      },
    },
    async (request, reply) => ({
      token: request.csrfToken(reply),
    }),
  );

  r.get(
    '/api/v1/sessions',
    {
      schema: {
        tags,
        summary: 'Active sessions of the signed-in user',
        ...noInput,
        response: { 200: Type.Object({ sessions: Type.Array(SessionJson) }) },
      },
      preHandler: requireUser,
    },
    async (request) => {
      const { session } = authOf(request);
      return { sessions: (await account.list(session.userId)).map((s) => sessionJson(s, session)) };
    },
  );

  r.delete(
    '/api/v1/sessions/:id',
    {
      schema: { tags, summary: 'Revoke one of your sessions', params: uuidParam, response: { 204: NoBody } },
      preHandler: requireUser,
    },
    async (request, reply) => {
      await account.revoke(authOf(request).session, request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/sessions/revoke-others',
    {
      schema: {
        tags,
        summary: 'Revoke every session but this one',
        response: { 200: Type.Object({ revoked: Type.Integer() }) },
      },
      preHandler: requireUser,
    },
    async (request) => ({
      revoked: await account.revokeOthers(authOf(request).session, requestContext(request)),
    }),
  );

  r.get(
    '/api/v1/sign-in-history',
    {
      schema: {
        tags,
        summary: 'Sign-in activity of the last 30 days',
        ...noInput,
        response: { 200: Type.Object({ events: Type.Array(HistoryJson) }) },
      },
      preHandler: requireUser,
    },
    async (request) => ({
      events: (await account.history(authOf(request).user.id)).map((e) => ({
        at: e.occurredAt.toISOString(),
        action: e.action,
        method: typeof e.payload.method === 'string' ? e.payload.method : null,
        ip: e.ip,
        userAgent: e.userAgent,
      })),
    }),
  );

  r.put(
    '/api/v1/me/password',
    {
      schema: {
        tags,
        summary: 'Change your password (current one required); signs out every other session',
        body: Type.Object(
          {
            currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
            newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: { 204: NoBody },
      },
      preHandler: requireUser,
    },
    async (request, reply) => {
      await identity.changePassword(
        authOf(request).session,
        request.body.currentPassword,
        request.body.newPassword,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/signout',
    {
      schema: {
        tags,
        summary: 'Sign out this session (?everywhere=true: every session)',
        querystring: Type.Object({ everywhere: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 204: NoBody },
      },
      preHandler: requireSession,
    },
    async (request, reply) => {
      await account.signOut(authOf(request).session, requestContext(request), request.query.everywhere ?? false);
      clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );
}

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { requestContext } from '../platform/http/request-context.js';
import { Email, Int, NoBody, noInput, Text } from '../platform/http/schemas.js';
import { authOf, requireUser } from '../sessions/index.js';
import type { SessionService } from '../sessions/index.js';
import { ROLES } from './permissions.js';
import type { ApiKeyService } from './api-keys.js';
import { actorOf, personOf, requireUserOrKey } from './http.js';
import { permissions } from './permissions.js';
import type { OrgService } from './service.js';

const tags = ['organizations'];
const Id = Type.String({ format: 'uuid' });
const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Name = Text({ maxLength: 100 });
const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
const OrgParams = strict({ orgId: Id });
const OrgJson = Type.Object({
  id: Id,
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  role: RoleSchema,
  requireMfa: Type.Boolean(),
  active: Type.Optional(Type.Boolean()),
});
const MemberJson = Type.Object({
  userId: Id,
  email: Type.String(),
  role: RoleSchema,
  invitedBy: Type.Union([Id, Type.Null()]),
  joinedAt: Type.String({ format: 'date-time' }),
});
const InvitationJson = Type.Object({
  id: Id,
  email: Type.String(),
  role: RoleSchema,
  invitedBy: Id,
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
const NoContent = { 204: NoBody };

const iso = <T extends { createdAt?: Date; joinedAt?: Date; expiresAt?: Date }>(o: T) => ({
  ...o,
  ...(o.createdAt ? { createdAt: o.createdAt.toISOString() } : {}),
  ...(o.joinedAt ? { joinedAt: o.joinedAt.toISOString() } : {}),
  ...(o.expiresAt ? { expiresAt: o.expiresAt.toISOString() } : {}),
});

/** O1-O3 as JSON. Every route checks a permission of the matrix against the caller's current membership. */
export function orgApiRoutes(
  app: FastifyInstance,
  orgs: OrgService,
  sessions: SessionService,
  keys: ApiKeyService,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  /** Routes a person or an organization API key may call. */
  const opts = { preHandler: requireUserOrKey };
  /** Routes about the person themselves (their organizations, their session): no API key. */
  const personOnly = { preHandler: requireUser };

  r.get(
    '/api/v1/orgs',
    {
      ...personOnly,
      schema: {
        tags,
        summary: 'Your organizations',
        ...noInput,
        response: { 200: Type.Object({ orgs: Type.Array(OrgJson) }) },
      },
    },
    async (request) => {
      const active = authOf(request).session.activeOrgId;
      return {
        orgs: (await orgs.listMine(authOf(request).user.id)).map((o) => ({ ...iso(o), active: o.id === active })),
      };
    },
  );

  r.post(
    '/api/v1/orgs',
    {
      ...personOnly,
      schema: {
        tags,
        summary: 'Create an organization; you become its owner',
        body: strict({ name: Name }),
        response: { 201: OrgJson },
      },
    },
    async (request, reply) => {
      const org = await orgs.create(personOf(request), request.body.name, requestContext(request));
      return reply.code(201).send(iso(org));
    },
  );

  r.get(
    '/api/v1/orgs/:orgId',
    {
      ...opts,
      schema: { tags, summary: 'One organization (org.read)', params: OrgParams, response: { 200: OrgJson } },
    },
    async (request) => iso(await orgs.get(actorOf(request), request.params.orgId)),
  );

  r.patch(
    '/api/v1/orgs/:orgId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Rename (org.rename)',
        params: OrgParams,
        body: strict({ name: Name }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.rename(actorOf(request), request.params.orgId, request.body.name, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Delete (org.delete); confirmName must equal the name',
        params: OrgParams,
        body: strict({ confirmName: Text({ maxLength: 100 }) }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.remove(actorOf(request), request.params.orgId, request.body.confirmName, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.put(
    '/api/v1/orgs/:orgId/mfa-policy',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Require (or stop requiring) two-factor sign-in of every member (org.require_mfa)',
        params: OrgParams,
        body: strict({ required: Type.Boolean() }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.setMfaPolicy(actorOf(request), request.params.orgId, request.body.required, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/switch',
    {
      ...personOnly,
      schema: {
        tags,
        summary: 'Make this the active organization of your session',
        params: OrgParams,
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.roleIn(authOf(request).user.id, request.params.orgId);
      await sessions.write((_tx, s) => s.setActiveOrg(authOf(request).session.id, request.params.orgId));
      return reply.code(204).send();
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/members',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Members (members.read)',
        params: OrgParams,
        response: { 200: Type.Object({ members: Type.Array(MemberJson) }) },
      },
    },
    async (request) => ({
      members: (await orgs.members(actorOf(request), request.params.orgId)).map(iso),
    }),
  );

  const MemberParams = strict({ orgId: Id, userId: Id });
  r.patch(
    '/api/v1/orgs/:orgId/members/:userId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Change a role (members.change_role)',
        params: MemberParams,
        body: strict({ role: RoleSchema }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.changeRole(
        actorOf(request),
        request.params.orgId,
        request.params.userId,
        request.body.role,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/members/:userId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Remove a member (members.remove), or leave',
        params: MemberParams,
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.removeMember(actorOf(request), request.params.orgId, request.params.userId, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/ownership',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Hand ownership to another member (org.transfer_ownership)',
        params: OrgParams,
        body: strict({ userId: Id }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.transferOwnership(
        actorOf(request),
        request.params.orgId,
        request.body.userId,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/invitations',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Pending invitations (invitations.read)',
        params: OrgParams,
        response: { 200: Type.Object({ invitations: Type.Array(InvitationJson) }) },
      },
    },
    async (request) => ({ invitations: (await orgs.invitations(actorOf(request), request.params.orgId)).map(iso) }),
  );

  r.post(
    '/api/v1/orgs/:orgId/invitations',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Invite by e-mail (members.invite)',
        params: OrgParams,
        body: strict({ email: Email, role: RoleSchema }),
        response: { 201: Type.Object({ id: Id }) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await orgs.invite(
            actorOf(request),
            request.params.orgId,
            request.body.email,
            request.body.role,
            requestContext(request),
          ),
        ),
  );

  const InvitationParams = strict({ orgId: Id, invitationId: Id });
  r.delete(
    '/api/v1/orgs/:orgId/invitations/:invitationId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Revoke an invitation (invitations.revoke)',
        params: InvitationParams,
        response: NoContent,
      },
    },
    async (request, reply) => {
      await orgs.revokeInvitation(
        actorOf(request),
        request.params.orgId,
        request.params.invitationId,
        requestContext(request),
      );
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/invitations/:invitationId/resend',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Send a fresh link; the old one stops working (invitations.revoke)',
        params: InvitationParams,
        response: { 201: Type.Object({ id: Id }) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await orgs.resendInvitation(
            actorOf(request),
            request.params.orgId,
            request.params.invitationId,
            requestContext(request),
          ),
        ),
  );

  r.post(
    '/api/v1/invitations/accept',
    {
      ...personOnly,
      schema: {
        tags,
        summary: 'Accept an invitation sent to your verified address',
        body: strict({ org: Id, token: Type.String({ maxLength: 100 }) }),
        response: { 200: OrgJson },
      },
    },
    async (request) =>
      iso(
        await orgs.acceptInvitation(
          authOf(request).user,
          request.body.org,
          request.body.token,
          requestContext(request),
        ),
      ),
  );

  const KeyJson = Type.Object({
    id: Type.String(),
    prefix: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    createdBy: Id,
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastUsedIp: Type.Union([Type.String(), Type.Null()]),
  });
  const keyJson = (k: Awaited<ReturnType<ApiKeyService['list']>>[number]) => ({
    ...k,
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  });
  const Scope = Type.Union(permissions().map((p) => Type.Literal(p)));

  r.get(
    '/api/v1/orgs/:orgId/api-keys',
    {
      ...opts,
      schema: {
        tags,
        summary: 'API keys: prefix, scopes, last use (api_keys.read)',
        params: OrgParams,
        response: { 200: Type.Object({ keys: Type.Array(KeyJson) }) },
      },
    },
    async (request) => ({ keys: (await keys.list(actorOf(request), request.params.orgId)).map(keyJson) }),
  );

  r.post(
    '/api/v1/orgs/:orgId/api-keys',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Create an API key (api_keys.create); the key is in this response only',
        params: OrgParams,
        body: strict({
          name: Name,
          scopes: Type.Array(Scope, { minItems: 1, uniqueItems: true }),
          expiresInDays: Int({ minimum: 1, maximum: 366 }),
        }),
        response: { 201: Type.Object({ key: Type.String(), info: KeyJson }) },
      },
    },
    async (request, reply) => {
      const created = await keys.create(actorOf(request), request.params.orgId, request.body, requestContext(request));
      return reply.code(201).send({ key: created.key, info: keyJson(created.info) });
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/api-keys/:keyId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Revoke an API key (api_keys.revoke)',
        params: strict({ orgId: Id, keyId: Type.String({ pattern: '^[a-z0-9]{16}$' }) }),
        response: NoContent,
      },
    },
    async (request, reply) => {
      await keys.revoke(actorOf(request), request.params.orgId, request.params.keyId, requestContext(request));
      return reply.code(204).send();
    },
  );
}

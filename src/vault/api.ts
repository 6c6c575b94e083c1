import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { OidcService } from '../oidc/index.js';
import type { OrgService } from '../orgs/index.js';
import { requestContext } from '../platform/http/request-context.js';
import { NoBody, noInput, Text } from '../platform/http/schemas.js';
import { PROXY_METHODS, sendThrough } from './proxy.js';
import type { ConnectionView, SecretInput, VaultService } from './service.js';
import { callerOf, PERSON_TOKENS, personTokenAuth } from './token-auth.js';

const tags = ['connections'];
const Id = Type.String({ format: 'uuid' });
const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
const OrgParams = strict({ orgId: Id });
const ConnParams = strict({ orgId: Id, connectionId: Id });
const Secret = Type.String({ minLength: 1, maxLength: 4096, description: 'the key (never shown again)' });
const SecretFields = {
  secret: Type.Optional(Secret),
  username: Type.Optional(Type.String({ maxLength: 200, description: 'basic auth providers' })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'basic auth providers' })),
};
const Status = Type.Union(
  ['unchecked', 'valid', 'invalid', 'revoked', 'refresh_failed', 'error'].map((s) => Type.Literal(s)),
);
const ConnectionJson = Type.Object({
  id: Id,
  providerId: Type.String(),
  label: Type.String(),
  kind: Type.Union([Type.Literal('api_key'), Type.Literal('oauth')]),
  status: Status,
  statusDetail: Type.Union([Type.String(), Type.Null()]),
  checkedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  mask: Type.String({ description: 'a prefix and the last four characters, never more' }),
  fingerprint: Type.String({ description: 'tells two keys apart without revealing either' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const StringMap = (maxProperties: number, maxLength: number) =>
  Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength }), { maxProperties });
const ProxyBody = strict({
  purpose: Type.String({ pattern: '^[a-z0-9_.:-]{1,100}$', description: 'why (recorded with the use)' }),
  method: Type.Union(PROXY_METHODS.map((m) => Type.Literal(m))),
  path: Type.String({
    pattern: '^/[^\\s#?]*$',
    maxLength: 2000,
    description: "starts with '/'; the query goes in `query`",
  }),
  host: Type.Optional(Type.String({ maxLength: 253, description: "one of the provider's hosts (default the first)" })),
  query: Type.Optional(StringMap(100, 2000)),
  headers: Type.Optional(StringMap(50, 8000)),
  body: Type.Optional(Type.String({ maxLength: 1024 * 1024 })),
});
const ProxyJson = Type.Object({
  status: Type.Integer(),
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.String({ description: 'the body as UTF-8 text (empty when it is not UTF-8)' }),
  bodyBase64: Type.Optional(Type.String({ description: 'the body, when it is not UTF-8' })),
});

const json = (c: ConnectionView) => ({
  ...c,
  checkedAt: c.checkedAt?.toISOString() ?? null,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

const secretOf = (b: { secret?: string; username?: string; password?: string }): SecretInput =>
  b.password !== undefined ? { username: b.username ?? '', password: b.password } : { secret: b.secret ?? '' };

/**
 * D1, L1: an organization's connections as JSON, for a session, an org API key, or a product's access
 * token with scope `connections`; no answer holds a secret.
 */
export function vaultApiRoutes(
  app: FastifyInstance,
  deps: {
    vault: VaultService;
    orgs: OrgService;
    oidc: Pick<OidcService, 'activeAccessToken'>;
  },
): void {
  const { vault } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // A session, an organization API key, or a product's access token with scope `connections`.
  const opts = { preHandler: personTokenAuth(deps.oidc), config: PERSON_TOKENS };

  r.get(
    '/api/v1/orgs/:orgId/connections',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Connections (connections.read)',
        params: OrgParams,
        ...noInput,
        response: { 200: Type.Object({ connections: Type.Array(ConnectionJson) }) },
      },
    },
    async (request) => ({ connections: (await vault.list(callerOf(request), request.params.orgId)).map(json) }),
  );

  r.post(
    '/api/v1/orgs/:orgId/connections',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Add a connection with a pasted key; it is checked with the provider (connections.manage)',
        params: OrgParams,
        body: strict({
          providerId: Type.String({ minLength: 1, maxLength: 40 }),
          label: Text({ maxLength: 80 }),
          ...SecretFields,
        }),
        response: { 201: ConnectionJson },
      },
    },
    async (request, reply) => {
      const { providerId, label } = request.body;
      const created = await vault.create(
        callerOf(request),
        request.params.orgId,
        { providerId, label, ...secretOf(request.body) },
        requestContext(request),
      );
      return reply.code(201).send(json(created));
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/connections/:connectionId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'One connection (connections.read)',
        params: ConnParams,
        response: { 200: ConnectionJson },
      },
    },
    async (request) => json(await vault.get(callerOf(request), request.params.orgId, request.params.connectionId)),
  );

  r.put(
    '/api/v1/orgs/:orgId/connections/:connectionId/secret',
    {
      ...opts,
      schema: {
        tags,
        summary: "Replace the connection's key; it is checked again (connections.manage)",
        params: ConnParams,
        body: strict(SecretFields),
        response: { 200: ConnectionJson },
      },
    },
    async (request) =>
      json(
        await vault.replaceSecret(
          callerOf(request),
          request.params.orgId,
          request.params.connectionId,
          secretOf(request.body),
          requestContext(request),
        ),
      ),
  );

  r.post(
    '/api/v1/orgs/:orgId/connections/:connectionId/check',
    {
      ...opts,
      schema: {
        tags,
        summary: "Check the key now with the provider's validation request (connections.manage)",
        params: ConnParams,
        response: { 200: ConnectionJson },
      },
    },
    async (request) =>
      json(
        await vault.checkNow(
          callerOf(request),
          request.params.orgId,
          request.params.connectionId,
          requestContext(request),
        ),
      ),
  );

  r.delete(
    '/api/v1/orgs/:orgId/connections/:connectionId',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Delete the connection and its sealed key, at once (connections.manage)',
        params: ConnParams,
        response: { 204: NoBody },
      },
    },
    async (request, reply) => {
      await vault.remove(callerOf(request), request.params.orgId, request.params.connectionId, requestContext(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/connections/:connectionId/requests',
    {
      ...opts,
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        tags,
        summary:
          "Send a request to the connection's provider with its credential added (connections.use); " +
          'the credential is never returned',
        params: ConnParams,
        body: ProxyBody,
        response: { 200: ProxyJson },
      },
    },
    async (request) =>
      sendThrough(
        { orgs: deps.orgs, vault },
        callerOf(request),
        request.params.orgId,
        request.params.connectionId,
        request.body,
        requestContext(request),
      ),
  );
}

import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { requestContext } from '../platform/http/request-context.js';
import { NoBody, noInput, Text } from '../platform/http/schemas.js';
import { operatorActor, type OperatorService } from '../operator/index.js';
import type { ClientRegistry, ClientView } from './clients.js';
import type { Deliveries } from './deliveries.js';
import { oidcError } from './errors.js';

const tags = ['operator'];
const security = [{ operatorToken: [] }];
/** Bearer operator tokens alone (never a cookie): no ambient credential, nothing to forge (R1). */
const config = { csrfExempt: true as const, ownBearer: true as const };

const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const ClientJson = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  confidential: Type.Boolean(),
  redirectUris: Type.Array(Type.String()),
  postLogoutRedirectUris: Type.Array(Type.String()),
  backchannelLogoutUri: Type.Union([Type.String(), Type.Null()]),
  firstParty: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
const DeliveryJson = Type.Object({
  delivered: Type.Boolean(),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.String({ format: 'date-time' }),
});
const ClientParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const AddClient = Type.Object(
  {
    clientId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: '3-64 letters, digits, dots, dashes, underscores',
    }),
    name: Text({ maxLength: 100, description: 'shown on the sign-in and consent pages' }),
    confidential: Type.Optional(
      Type.Boolean({ default: true, description: 'false: a public client (PKCE only, no secret)' }),
    ),
    redirectUris: Type.Array(Uri, { minItems: 1, maxItems: 20, description: 'matched exactly; https' }),
    postLogoutRedirectUris: Type.Optional(Type.Array(Uri, { maxItems: 20 })),
    backchannelLogoutUri: Type.Optional(Uri),
    firstParty: Type.Optional(Type.Boolean({ default: false, description: 'true: people are not asked for consent' })),
  },
  { additionalProperties: false },
);

const json = (c: ClientView) => ({ ...c, createdAt: c.createdAt.toISOString() });

/** A10: the operator API for OpenID clients (`rampart clients …` over HTTP), operator tokens only. */
export function operatorClientRoutes(
  app: FastifyInstance,
  deps: { operator: OperatorService; clients: ClientRegistry; deliveries: Deliveries; clock: Clock },
): void {
  const { operator, clients, deliveries, clock } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const opts = { preHandler: operator.requireOperator, config };

  r.get(
    '/api/v1/operator/clients',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'The registered products (OpenID clients), with back-channel logout failures of the last 24 hours',
        ...noInput,
        response: {
          200: Type.Object({
            clients: Type.Array(Type.Composite([ClientJson, Type.Object({ backchannelFailed24h: Type.Integer() })])),
          }),
        },
      },
    },
    async () => {
      const [all, failed] = await Promise.all([clients.list(), deliveries.failedInADay()]);
      return { clients: all.map((c) => ({ ...json(c), backchannelFailed24h: failed.get(c.clientId) ?? 0 })) };
    },
  );

  r.post(
    '/api/v1/operator/clients',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Register a product; a confidential client gets its secret in this answer only',
        body: AddClient,
        response: {
          201: Type.Object({
            client: ClientJson,
            clientSecret: Type.Optional(Type.String({ description: 'shown once; stored only as a hash' })),
          }),
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const who = operator.operatorOf(request);
      const { client, secret } = await clients.add(
        {
          clientId: b.clientId,
          name: b.name,
          confidential: b.confidential ?? true,
          redirectUris: b.redirectUris,
          postLogoutRedirectUris: b.postLogoutRedirectUris,
          backchannelLogoutUri: b.backchannelLogoutUri,
          firstParty: b.firstParty ?? false,
        },
        async (tx, added) => {
          await appendAudit(
            tx,
            {
              stream: systemStream,
              action: 'oidc.client_added',
              actor: operatorActor(who),
              target: `oidc_client:${added.clientId}`,
              context: requestContext(request),
              payload: {
                name: added.name,
                confidential: added.confidential,
                firstParty: added.firstParty,
                redirectUris: added.redirectUris,
                backchannelLogoutUri: added.backchannelLogoutUri,
              },
            },
            clock,
          );
        },
      );
      return reply.code(201).send({ client: json(client), ...(secret ? { clientSecret: secret } : {}) });
    },
  );

  r.get(
    '/api/v1/operator/clients/:id',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'One product, with its recent back-channel logout deliveries (newest first)',
        params: ClientParams,
        ...noInput,
        response: { 200: Type.Object({ client: ClientJson, deliveries: Type.Array(DeliveryJson) }) },
      },
    },
    async (request) => {
      const client = await clients.get(request.params.id);
      if (!client) throw oidcError('client_not_found');
      const recent = await deliveries.recent(client.clientId);
      return {
        client: json(client),
        deliveries: recent.map((d) => ({
          delivered: d.delivered,
          attempts: d.attempts,
          lastError: d.lastError,
          finishedAt: d.finishedAt.toISOString(),
        })),
      };
    },
  );

  r.delete(
    '/api/v1/operator/clients/:id',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Remove a product and everything issued to it: its tokens stop working at once',
        params: ClientParams,
        ...noInput,
        response: { 204: NoBody },
      },
    },
    async (request, reply) => {
      const who = operator.operatorOf(request);
      const removed = await clients.remove(request.params.id, (tx) =>
        appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'oidc.client_removed',
            actor: operatorActor(who),
            target: `oidc_client:${request.params.id}`,
            context: requestContext(request),
          },
          clock,
        ).then(() => undefined),
      );
      if (!removed) throw oidcError('client_not_found');
      return reply.code(204).send();
    },
  );
}

import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { operatorActor, type OperatorService } from '../operator/index.js';
import { requestContext } from '../platform/http/request-context.js';
import { NoBody, noInput, Text } from '../platform/http/schemas.js';
import type { ProviderInput, ProviderRegistry, ProviderView } from './providers.js';

const tags = ['operator'];
const security = [{ operatorToken: [] }];
/** Bearer operator tokens alone (never a cookie): no ambient credential, nothing to forge (R1). */
const config = { csrfExempt: true as const, ownBearer: true as const };

const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'https (T3)' });
const AuthStyle = Type.Union(['bearer', 'basic', 'header', 'query'].map((s) => Type.Literal(s)));
const Kind = Type.Union([Type.Literal('api_key'), Type.Literal('oauth')]);
const Validation = Type.Object(
  {
    method: Type.Union([Type.Literal('GET'), Type.Literal('HEAD'), Type.Literal('POST')]),
    path: Type.String({ minLength: 1, maxLength: 500, description: 'e.g. /v1/me; 2xx valid, 401/403 invalid' }),
  },
  { additionalProperties: false },
);
const ProviderBody = Type.Object(
  {
    name: Text({ maxLength: 60 }),
    kind: Kind,
    allowedHosts: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      minItems: 1,
      maxItems: 20,
      description: 'exact host names the key may be sent to (no scheme, no wildcard, no private address)',
    }),
    authStyle: AuthStyle,
    authName: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'header or query styles' })),
    validation: Type.Optional(Validation),
    oauth: Type.Optional(
      Type.Object(
        {
          authorizationEndpoint: Url,
          tokenEndpoint: Url,
          revocationEndpoint: Type.Optional(Url),
          clientId: Type.String({ minLength: 1, maxLength: 200 }),
          clientSecret: Type.Optional(
            Type.String({ minLength: 1, maxLength: 1000, description: 'sealed; never shown again (omit to keep)' }),
          ),
          scopes: Type.Optional(Type.String({ maxLength: 1000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
const ProviderJson = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Kind,
  allowedHosts: Type.Array(Type.String()),
  authStyle: AuthStyle,
  authName: Type.Union([Type.String(), Type.Null()]),
  validation: Type.Union([Validation, Type.Null()]),
  oauth: Type.Union([
    Type.Object({
      authorizationEndpoint: Type.String(),
      tokenEndpoint: Type.String(),
      revocationEndpoint: Type.Union([Type.String(), Type.Null()]),
      clientId: Type.String(),
      hasClientSecret: Type.Boolean(),
      scopes: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false });

const json = (p: ProviderView) => ({
  ...p,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});

/** The registry of connection providers (where a customer's key may go, and how), operator tokens only. */
export function operatorProviderRoutes(
  app: FastifyInstance,
  deps: { operator: OperatorService; providers: ProviderRegistry },
): void {
  const { operator, providers } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const opts = { preHandler: operator.requireOperator, config };

  r.get(
    '/api/v1/operator/vault/providers',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'The connection providers',
        ...noInput,
        response: { 200: Type.Object({ providers: Type.Array(ProviderJson) }) },
      },
    },
    async () => ({ providers: (await providers.list()).map(json) }),
  );

  r.get(
    '/api/v1/operator/vault/providers/:id',
    {
      ...opts,
      schema: { tags, security, summary: 'One connection provider', params: Params, response: { 200: ProviderJson } },
    },
    async (request) => json(await providers.get(request.params.id)),
  );

  r.put(
    '/api/v1/operator/vault/providers/:id',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Add a connection provider, or change it (the client secret is kept when omitted)',
        params: Params,
        body: ProviderBody,
        response: { 200: ProviderJson },
      },
    },
    async (request) => {
      const input: ProviderInput = { id: request.params.id, ...request.body } as ProviderInput;
      return json(await providers.save(input, operatorActor(operator.operatorOf(request)), requestContext(request)));
    },
  );

  r.delete(
    '/api/v1/operator/vault/providers/:id',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Remove a provider no connection uses',
        params: Params,
        response: { 204: NoBody },
      },
    },
    async (request, reply) => {
      await providers.remove(request.params.id, operatorActor(operator.operatorOf(request)), requestContext(request));
      return reply.code(204).send();
    },
  );
}

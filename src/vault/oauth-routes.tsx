import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { personOf } from '../orgs/index.js';
import { AppError } from '../platform/errors.js';
import { formBody } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { Text } from '../platform/http/schemas.js';
import { requireUser } from '../sessions/index.js';
import { OAUTH_FLOW_TTL_MS, type OauthConnections, type OauthStarted } from './oauth.js';
import { VAULT_OAUTH_ERRORS } from './oauth-errors.js';

/** Binds a connection flow to the browser that started it: random, HttpOnly, ten minutes (A7). */
export const OAUTH_FLOW_COOKIE = '__Host-rampart_vault_oauth';

const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
const Id = Type.String({ format: 'uuid' });
const ProviderId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', maxLength: 40 });
const Label = Text({ maxLength: 80 });
const startFields = { providerId: ProviderId, label: Label };
/** The provider's answer (RFC 6749 4.1.2, RFC 9207 iss); providers add their own bounded parameters. */
const Param = (maxLength: number) => Type.Optional(Type.String({ maxLength }));
const callbackQuery = Type.Object(
  {
    code: Param(4096),
    state: Param(200),
    iss: Param(500),
    error: Param(200),
    error_description: Param(1000),
    error_uri: Param(1000),
  },
  { additionalProperties: Type.String({ maxLength: 2000 }), maxProperties: 20 },
);
const OWN = new Set(Object.keys(VAULT_OAUTH_ERRORS.codes));

/** The page a refused connection attempt shows: what happened, and the way back. */
export function OauthProblemPage({ message, back }: { message: string; back: string }) {
  return (
    <section class="narrow">
      <h1>The connection was not made</h1>
      <p role="alert">{message}</p>
      <p>
        <a href={back} role="button">
          Back to the connections
        </a>
      </p>
    </section>
  );
}

/** A7: connecting an organization to an OAuth provider, its callback, and disconnecting. */
export function vaultOauthRoutes(app: FastifyInstance, service: OauthConnections): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const connections = (orgId: string) => `/orgs/${orgId}/connections`;

  // Ours become a page; the others (not_found for another tenant's ids, forbidden) go to the error pages.
  const problem = (reply: FastifyReply, err: unknown, back: string) => {
    if (!(err instanceof AppError) || !OWN.has(err.code)) throw err;
    return reply
      .code(err.status)
      .render('The connection was not made', <OauthProblemPage message={err.message} back={back} />);
  };
  const bind = (reply: FastifyReply, started: OauthStarted) =>
    reply.setCookie(OAUTH_FLOW_COOKIE, started.browser, {
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'lax', // sent on the top-level GET back from the provider
      maxAge: OAUTH_FLOW_TTL_MS / 1000,
    });

  r.post(
    '/orgs/:orgId/connections/oauth/start',
    { schema: { params: strict({ orgId: Id }), body: formBody(startFields) }, preHandler: requireUser },
    async (request, reply) => {
      const { orgId } = request.params;
      let started: OauthStarted;
      try {
        started = await service.start(
          personOf(request),
          orgId,
          request.body.providerId,
          request.body.label,
          request.cookies[OAUTH_FLOW_COOKIE],
        );
      } catch (err) {
        return problem(reply, err, connections(orgId));
      }
      // The page that posted this allows the provider in its form-action (browsers check every redirect of a form).
      return bind(reply, started).redirect(started.url, 303);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/connections/oauth/start',
    {
      schema: {
        tags: ['connections'],
        summary: 'Start an OAuth connection (connections.manage): the URL to send the browser to',
        params: strict({ orgId: Id }),
        body: strict(startFields),
        response: { 200: Type.Object({ authorizationUrl: Type.String() }) },
      },
      // The browser that follows the URL must come back signed in as this person: no API keys.
      preHandler: requireUser,
    },
    async (request, reply) => {
      const started = await service.start(
        personOf(request),
        request.params.orgId,
        request.body.providerId,
        request.body.label,
        request.cookies[OAUTH_FLOW_COOKIE],
      );
      return bind(reply, started).send({ authorizationUrl: started.url });
    },
  );

  // The provider sends the browser back here: a GET protected by the single-use state and its cookie, not CSRF.
  r.get(
    '/vault/oauth/callback',
    { schema: { querystring: callbackQuery }, preHandler: requireUser },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      try {
        const made = await service.callback(
          query,
          request.cookies[OAUTH_FLOW_COOKIE],
          personOf(request),
          requestContext(request),
        );
        return reply.redirect(connections(made.orgId), 303);
      } catch (err) {
        return problem(reply, err, '/orgs');
      }
    },
  );

  r.post(
    '/orgs/:orgId/connections/:connectionId/oauth/disconnect',
    {
      schema: { params: strict({ orgId: Id, connectionId: Id }), body: formBody({}) },
      preHandler: requireUser,
    },
    async (request, reply) => {
      const { orgId, connectionId } = request.params;
      try {
        await service.disconnectAs(personOf(request), orgId, connectionId, requestContext(request));
      } catch (err) {
        return problem(reply, err, connections(orgId));
      }
      return reply.redirect(connections(orgId), 303);
    },
  );
}

import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OrgTab } from '../feature.js';
import { operatorActor, type OperatorService } from '../operator/index.js';
import { type OrgService, personOf } from '../orgs/index.js';
import { AppError, type FieldError } from '../platform/errors.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { allowFormTargets } from '../platform/http/security-headers.js';
import { Text } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { requireUser } from '../sessions/index.js';
import { ConnectionsPage, ProvidersPage } from './pages.js';
import type { ProviderInput, ProviderRegistry } from './providers.js';
import type { SecretInput, VaultService } from './service.js';

const Id = Type.String({ format: 'uuid' });
const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
const OrgParams = strict({ orgId: Id });
const ConnParams = strict({ orgId: Id, connectionId: Id });
const Short = (maxLength: number) => Type.String({ maxLength });
const Optional = (maxLength: number) => Type.Optional(Type.String({ maxLength }));
const DONE: Record<string, string> = {
  created: 'The connection is saved.',
  replaced: 'The key is replaced; the old one is gone.',
  checked: 'The connection was checked.',
  deleted: 'The connection and its key are deleted.',
  saved: 'The provider is saved.',
  removed: 'The provider is removed.',
};
const DoneQuery = strict({ done: Type.Optional(Type.Union(Object.keys(DONE).map((k) => Type.Literal(k)))) });

const secretOf = (basic: boolean, username: string | undefined, secret: string): SecretInput =>
  basic ? { username: username ?? '', password: secret } : { secret };

/** The page's field names: the service calls a basic-auth password `password`, the form `secret`. */
const onPage = (state: FormState): FormState => ({
  ...state,
  errors: state.errors?.map((e: FieldError) => (e.field === 'password' ? { ...e, field: 'secret' } : e)),
});

/** D1: the organization's Connections tab and the operator's provider registry, as forms that need no script. */
export function vaultPageRoutes(
  app: FastifyInstance,
  deps: {
    vault: VaultService & { providers: ProviderRegistry };
    orgs: OrgService;
    operator: OperatorService;
    tabs: readonly OrgTab[];
  },
): void {
  const { vault, orgs, operator, tabs } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const pre = { preHandler: requireUser };

  type Extra = {
    notice?: string;
    createState?: FormState;
    tableState?: FormState;
    replace?: { id: string; state: FormState };
  };
  async function page(request: FastifyRequest, reply: FastifyReply, orgId: string, extra: Extra = {}, status = 200) {
    const actor = personOf(request);
    const org = await orgs.get(actor, orgId);
    const connections = await vault.list(actor, orgId);
    const providers = await vault.providers.list();
    // The Connect form of OAuth providers redirects to their authorization endpoint (CSP form-action).
    const authorize = providers.flatMap((p) => (p.oauth?.authorizationEndpoint ? [p.oauth.authorizationEndpoint] : []));
    if (authorize.length) allowFormTargets(reply, authorize);
    return reply
      .code(status)
      .render(
        `Connections · ${org.name}`,
        <ConnectionsPage
          csrf={request.csrfToken(reply)}
          org={org}
          tabs={tabs}
          connections={connections}
          providers={providers}
          {...extra}
        />,
      );
  }
  const done = (reply: FastifyReply, orgId: string, what: string) =>
    reply.redirect(`/orgs/${orgId}/connections?done=${what}`, 303);

  r.get(
    '/orgs/:orgId/connections',
    { ...pre, schema: { params: OrgParams, querystring: DoneQuery } },
    async (request, reply) =>
      page(request, reply, request.params.orgId, { notice: request.query.done && DONE[request.query.done] }),
  );

  r.post(
    '/orgs/:orgId/connections',
    {
      ...pre,
      schema: {
        params: OrgParams,
        body: formBody({
          providerId: Short(40),
          label: Text({ maxLength: 80 }),
          username: Optional(200),
          secret: Short(4096),
        }),
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const body = (request.body ?? {}) as { providerId?: string; label?: string; username?: string; secret?: string };
      const values = { providerId: body.providerId, label: body.label, username: body.username };
      const label = body.label?.trim() ?? '';
      const errors = validationErrors(request) ?? [
        ...(label ? [] : [{ field: 'label', message: 'is required' }]),
        ...(body.secret ? [] : [{ field: 'secret', message: 'is required' }]),
      ];
      if (errors.length) return page(request, reply, orgId, { createState: { values, errors } }, 400);
      try {
        const provider = await vault.providers.row(body.providerId ?? '');
        await vault.create(
          personOf(request),
          orgId,
          {
            providerId: body.providerId ?? '',
            label,
            ...secretOf(provider?.auth_style === 'basic', body.username, body.secret!),
          },
          requestContext(request),
        );
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw err;
        const f = formFailure(err, values);
        return page(request, reply, orgId, { createState: onPage(f.state) }, f.status);
      }
      return done(reply, orgId, 'created');
    },
  );

  r.post(
    '/orgs/:orgId/connections/:connectionId/secret',
    {
      ...pre,
      schema: { params: ConnParams, body: formBody({ username: Optional(200), secret: Short(4096) }) },
      attachValidation: true,
    },
    async (request, reply) => {
      const { orgId, connectionId } = request.params;
      const body = (request.body ?? {}) as { username?: string; secret?: string };
      const values = { username: body.username };
      const errors = validationErrors(request) ?? (body.secret ? [] : [{ field: 'secret', message: 'is required' }]);
      if (errors.length)
        return page(request, reply, orgId, { replace: { id: connectionId, state: { values, errors } } }, 400);
      try {
        const actor = personOf(request);
        const current = await vault.get(actor, orgId, connectionId);
        const provider = await vault.providers.row(current.providerId);
        await vault.replaceSecret(
          actor,
          orgId,
          connectionId,
          secretOf(provider?.auth_style === 'basic', body.username, body.secret!),
          requestContext(request),
        );
      } catch (err) {
        if (err instanceof AppError && err.status === 404) throw err;
        const f = formFailure(err, values);
        return page(request, reply, orgId, { replace: { id: connectionId, state: onPage(f.state) } }, f.status);
      }
      return done(reply, orgId, 'replaced');
    },
  );

  for (const [action, run, what] of [
    ['check', vault.checkNow, 'checked'],
    ['delete', vault.remove, 'deleted'],
  ] as const) {
    r.post(
      `/orgs/:orgId/connections/:connectionId/${action}`,
      { ...pre, schema: { params: ConnParams, body: formBody({}) } },
      async (request, reply) => {
        const { orgId, connectionId } = request.params;
        try {
          await run(personOf(request), orgId, connectionId, requestContext(request));
        } catch (err) {
          if (err instanceof AppError && err.status === 404) throw err;
          const f = formFailure(err);
          return page(request, reply, orgId, { tableState: f.state }, f.status);
        }
        return done(reply, orgId, what);
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // The operator's provider registry

  const guard = { preHandler: operator.requireOperatorPage };
  async function providersPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { notice?: string; state?: FormState; tableState?: FormState; editId?: string } = {},
    status = 200,
  ) {
    const providers = await vault.providers.list();
    const editing = extra.editId ? providers.find((p) => p.id === extra.editId) : undefined;
    return reply
      .code(status)
      .render(
        'Connection providers',
        <ProvidersPage
          pages={operator.pages}
          csrf={request.csrfToken(reply)}
          providers={providers}
          notice={extra.notice}
          state={extra.state}
          tableState={extra.tableState}
          editing={editing}
        />,
      );
  }

  r.get(
    '/operator/connections',
    {
      ...guard,
      schema: {
        querystring: strict({
          done: Type.Optional(Type.Union([Type.Literal('saved'), Type.Literal('removed')])),
          edit: Type.Optional(Type.String({ maxLength: 40 })),
        }),
      },
    },
    async (request, reply) =>
      providersPage(request, reply, {
        notice: request.query.done && DONE[request.query.done],
        editId: request.query.edit,
      }),
  );

  const providerForm = {
    id: Short(40),
    name: Text({ maxLength: 60 }),
    kind: Short(20),
    allowedHosts: Short(6000),
    authStyle: Short(20),
    authName: Optional(100),
    validationMethod: Optional(10),
    validationPath: Optional(500),
    authorizationEndpoint: Optional(2000),
    tokenEndpoint: Optional(2000),
    revocationEndpoint: Optional(2000),
    clientId: Optional(200),
    clientSecret: Optional(1000),
    scopes: Optional(1000),
  };
  type ProviderForm = Partial<Record<keyof typeof providerForm, string>>;

  r.post(
    '/operator/connections',
    { ...guard, schema: { body: formBody(providerForm) }, attachValidation: true },
    async (request, reply) => {
      const b = (request.body ?? {}) as ProviderForm;
      const { clientSecret: _never, ...values } = b;
      const errors = validationErrors(request);
      if (errors) return providersPage(request, reply, { state: { values, errors } }, 400);
      const text = (v?: string) => (v?.trim() ? v.trim() : undefined);
      const kind = b.kind === 'oauth' ? 'oauth' : 'api_key';
      const method = b.validationMethod;
      const input: ProviderInput = {
        id: b.id?.trim() ?? '',
        name: b.name?.trim() ?? '',
        kind,
        allowedHosts: (b.allowedHosts ?? '').split(/[\s,]+/).filter(Boolean),
        authStyle: (['bearer', 'basic', 'header', 'query'].includes(b.authStyle ?? '')
          ? b.authStyle
          : 'bearer') as never,
        authName: text(b.authName),
        validation:
          method === 'GET' || method === 'HEAD' || method === 'POST'
            ? { method, path: text(b.validationPath) ?? '' }
            : undefined,
        oauth:
          kind === 'oauth'
            ? {
                authorizationEndpoint: text(b.authorizationEndpoint) ?? '',
                tokenEndpoint: text(b.tokenEndpoint) ?? '',
                revocationEndpoint: text(b.revocationEndpoint),
                clientId: text(b.clientId) ?? '',
                clientSecret: b.clientSecret || undefined,
                scopes: text(b.scopes),
              }
            : undefined,
      };
      if (!input.name)
        return providersPage(
          request,
          reply,
          { state: { values, errors: [{ field: 'name', message: 'is required' }] } },
          400,
        );
      try {
        await vault.providers.save(input, operatorActor(operator.operatorOf(request)), requestContext(request));
      } catch (err) {
        const f = formFailure(err, values);
        return providersPage(request, reply, { state: f.state }, f.status);
      }
      return reply.redirect('/operator/connections?done=saved', 303);
    },
  );

  r.post(
    '/operator/connections/:id/remove',
    { ...guard, schema: { params: strict({ id: Type.String({ minLength: 1, maxLength: 40 }) }), body: formBody({}) } },
    async (request, reply) => {
      try {
        await vault.providers.remove(
          request.params.id,
          operatorActor(operator.operatorOf(request)),
          requestContext(request),
        );
      } catch (err) {
        const f = formFailure(err);
        return providersPage(request, reply, { tableState: f.state }, f.status);
      }
      return reply.redirect('/operator/connections?done=removed', 303);
    },
  );
}

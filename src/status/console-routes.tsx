import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorPage } from '../feature.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { uuidParam } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import type { OperatorService } from '../operator/index.js';
import { ComponentConsolePage, StatusConsolePage } from './console-pages.js';
import { statusError } from './errors.js';
import type { ProbeService } from './probes.js';
import type { StatusService } from './service.js';

const idParam = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9][a-z0-9-]*$' }) },
  { additionalProperties: false },
);
const done = Type.Object(
  {
    done: Type.Optional(
      Type.Union([
        Type.Literal('added'),
        Type.Literal('saved'),
        Type.Literal('removed'),
        Type.Literal('probed'),
        Type.Literal('probe'),
      ]),
    ),
  },
  { additionalProperties: false },
);
const NOTICES = {
  added: 'The component is added.',
  saved: 'The changes are saved.',
  removed: 'Removed.',
  probed: 'The probes ran.',
  probe: 'The probe is added.',
} as const;
const componentBody = formBody({
  id: Type.String({ maxLength: 100 }),
  name: Type.String({ maxLength: 200 }),
  description: Type.String({ maxLength: 1000 }),
  state: Type.String({ maxLength: 40 }),
});
const changeBody = formBody({
  name: Type.String({ maxLength: 200 }),
  description: Type.String({ maxLength: 1000 }),
  state: Type.String({ maxLength: 40 }),
});
const probeBody = formBody({ url: Type.String({ maxLength: 1000 }), expectedStatus: Type.String({ maxLength: 10 }) });
const emptyBody = formBody({});

export function statusConsoleRoutes(
  app: FastifyInstance,
  deps: {
    status: StatusService;
    probes: ProbeService;
    operator: OperatorService;
    pages: readonly OperatorPage[];
    runProbes: () => Promise<void>;
  },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { status, probes, operator, pages } = deps;
  const guard = operator.requireOperatorPage;
  const hrefOf = (id: string) => `/operator/status/components/${encodeURIComponent(id)}`;

  const listPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; code?: number; notice?: string } = {},
  ) => {
    const [{ components }, list] = await Promise.all([status.shown(), probes.list()]);
    return reply
      .code(opts.code ?? 200)
      .render(
        'Status page',
        <StatusConsolePage
          pages={pages}
          components={components}
          probes={list}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          notice={opts.notice}
        />,
      );
  };

  const componentPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    opts: { state?: FormState; probeState?: FormState; code?: number; notice?: string } = {},
  ) => {
    const { components } = await status.shown();
    const component = components.find((c) => c.id === id);
    if (!component) throw statusError('status_component_not_found');
    const list = (await probes.list()).filter((p) => p.componentId === id);
    return reply
      .code(opts.code ?? 200)
      .render(
        component.name,
        <ComponentConsolePage
          pages={pages}
          component={component}
          probes={list}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          probeState={opts.probeState}
          notice={opts.notice}
        />,
      );
  };

  r.get('/operator/status', { schema: { querystring: done }, preHandler: guard }, async (request, reply) =>
    listPage(request, reply, { notice: request.query.done && NOTICES[request.query.done] }),
  );

  r.post(
    '/operator/status/components',
    { schema: { body: componentBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const { id, name, description, state } = request.body;
      const values = { id, name, description, state };
      const errors = validationErrors(request);
      if (errors) return listPage(request, reply, { state: { values, errors }, code: 400 });
      try {
        await status.add({ id: id.trim(), name, description, state }, operator.operatorOf(request));
      } catch (err) {
        const f = formFailure(err, values);
        return listPage(request, reply, { state: f.state, code: f.status });
      }
      return reply.redirect('/operator/status?done=added', 303);
    },
  );

  r.post('/operator/status/probes/run', { schema: { body: emptyBody }, preHandler: guard }, async (_request, reply) => {
    await deps.runProbes();
    return reply.redirect('/operator/status?done=probed', 303);
  });

  r.get(
    '/operator/status/components/:id',
    { schema: { params: idParam, querystring: done }, preHandler: guard },
    async (request, reply) =>
      componentPage(request, reply, request.params.id, { notice: request.query.done && NOTICES[request.query.done] }),
  );

  r.post(
    '/operator/status/components/:id',
    { schema: { params: idParam, body: changeBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const { name, description, state } = request.body;
      const values = { name, description, state };
      const id = request.params.id;
      const errors = validationErrors(request);
      if (errors) return componentPage(request, reply, id, { state: { values, errors }, code: 400 });
      try {
        await status.change(id, values, operator.operatorOf(request));
      } catch (err) {
        const f = formFailure(err, values);
        if (f.status === 404) throw err;
        return componentPage(request, reply, id, { state: f.state, code: f.status });
      }
      return reply.redirect(`${hrefOf(id)}?done=saved`, 303);
    },
  );

  for (const direction of ['up', 'down'] as const)
    r.post(
      `/operator/status/components/:id/${direction}`,
      { schema: { params: idParam, body: emptyBody }, preHandler: guard },
      async (request, reply) => {
        await status.move(request.params.id, direction, operator.operatorOf(request));
        return reply.redirect('/operator/status?done=saved', 303);
      },
    );

  r.post(
    '/operator/status/components/:id/remove',
    { schema: { params: idParam, body: emptyBody }, preHandler: guard },
    async (request, reply) => {
      await status.remove(request.params.id, operator.operatorOf(request));
      return reply.redirect('/operator/status?done=removed', 303);
    },
  );

  r.post(
    '/operator/status/components/:id/probes',
    { schema: { params: idParam, body: probeBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const { url, expectedStatus } = request.body;
      const values = { url, expectedStatus };
      const id = request.params.id;
      const errors = validationErrors(request);
      if (errors) return componentPage(request, reply, id, { probeState: { values, errors }, code: 400 });
      const expected = /^\d{3}$/.test(expectedStatus.trim()) ? Number(expectedStatus.trim()) : Number.NaN;
      try {
        await probes.add({ componentId: id, url: url.trim(), expectedStatus: expected }, operator.operatorOf(request));
      } catch (err) {
        const f = formFailure(err, values);
        if (f.status === 404) throw err;
        return componentPage(request, reply, id, { probeState: f.state, code: f.status });
      }
      return reply.redirect(`${hrefOf(id)}?done=probe`, 303);
    },
  );

  r.post(
    '/operator/status/probes/:id/remove',
    { schema: { params: uuidParam, body: emptyBody }, preHandler: guard },
    async (request, reply) => {
      const probe = (await probes.list()).find((p) => p.id === request.params.id);
      await probes.remove(request.params.id, operator.operatorOf(request));
      return reply.redirect(probe ? `${hrefOf(probe.componentId)}?done=removed` : '/operator/status', 303);
    },
  );
}

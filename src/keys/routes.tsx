import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operatorActor, type OperatorService } from '../operator/index.js';
import { AppError } from '../platform/errors.js';
import { formBody, formFailure } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { noInput } from '../platform/http/schemas.js';
import type { KeyStatus } from '../platform/keys/rotation.js';
import type { FormState } from '../platform/views/forms.js';
import { parseVersion } from './commands.js';
import { keysError } from './errors.js';
import { KeysPage } from './pages.js';
import type { KeyOperation, KeysService } from './service.js';

const tags = ['operator'];
const security = [{ operatorToken: [] }];
/** Bearer operator tokens alone (never a cookie): no ambient credential, nothing to forge (R1). */
const config = { csrfExempt: true as const, ownBearer: true as const };

const VersionText = Type.String({ minLength: 1, maxLength: 12, description: 'v<N> or <N>', examples: ['v1'] });
const retireBody = formBody({ version: VersionText });
const doneQuery = Type.Object(
  { done: Type.Optional(Type.Union([Type.Literal('rotate'), Type.Literal('rewrap'), Type.Literal('retired')])) },
  { additionalProperties: false },
);
const NOTICES = {
  rotate: 'Rotation started: the new version becomes current once every live instance holds it.',
  rewrap: 'Rewrap started in the background.',
  retired: 'The version is retired.',
} as const;

const Counts = Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()));
const OperationJson = Type.Object({
  kind: Type.Union([Type.Literal('rotate'), Type.Literal('rewrap')]),
  state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  done: Type.Integer(),
  total: Type.Integer(),
  message: Type.Optional(Type.String()),
});
const StatusJson = Type.Object({
  source: Type.Union([Type.Literal('env'), Type.Literal('file')]),
  versions: Type.Array(Type.Integer()),
  current: Type.Integer(),
  retired: Type.Array(Type.Integer()),
  instances: Type.Array(
    Type.Object({
      instanceId: Type.String(),
      versions: Type.Array(Type.Integer()),
      current: Type.Integer(),
      seenAt: Type.String({ format: 'date-time' }),
    }),
  ),
  counts: Counts,
  operation: Type.Optional(OperationJson),
});

const operationJson = (op: KeyOperation) => ({
  kind: op.kind,
  state: op.state,
  startedAt: op.startedAt.toISOString(),
  ...(op.finishedAt ? { finishedAt: op.finishedAt.toISOString() } : {}),
  done: op.done,
  total: op.total,
  ...(op.message ? { message: op.message } : {}),
});
const statusJson = (s: KeyStatus, op: KeyOperation | undefined) => ({
  source: s.source,
  versions: s.held,
  current: s.current,
  retired: s.retired,
  instances: s.instances.map((i) => ({ ...i, seenAt: i.seenAt.toISOString() })),
  counts: s.counts,
  ...(op ? { operation: operationJson(op) } : {}),
});

function version(text: string): number {
  try {
    return parseVersion(text);
  } catch {
    throw keysError('key_version_invalid');
  }
}

/** D3: /operator/keys (console, CSRF-checked forms) and /api/v1/operator/keys… (operator tokens). */
export function keysRoutes(app: FastifyInstance, deps: { operator: OperatorService; keys: KeysService }): void {
  const { operator, keys } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const guard = operator.requireOperatorPage;
  const actorOf = (request: FastifyRequest) => operatorActor(operator.operatorOf(request));

  const page = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; status?: number; notice?: string } = {},
  ) =>
    reply
      .code(opts.status ?? 200)
      .render(
        'Master keys',
        <KeysPage
          pages={operator.pages}
          status={await keys.status()}
          operation={keys.operation()}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          notice={opts.notice}
        />,
      );

  r.get('/operator/keys', { schema: { querystring: doneQuery }, preHandler: guard }, async (request, reply) =>
    page(request, reply, { notice: request.query.done ? NOTICES[request.query.done] : undefined }),
  );
  for (const kind of ['rotate', 'rewrap'] as const) {
    r.post(`/operator/keys/${kind}`, { schema: { body: formBody({}) }, preHandler: guard }, async (request, reply) => {
      try {
        keys.start(kind, actorOf(request), requestContext(request));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return page(request, reply, { notice: err.message, status: err.status });
      }
      return reply.redirect(`/operator/keys?done=${kind}`, 303);
    });
  }
  r.post(
    '/operator/keys/retire',
    { schema: { body: retireBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const values = { version: request.body?.version as string | undefined };
      try {
        await keys.retire(version(values.version ?? ''), actorOf(request), requestContext(request));
      } catch (err) {
        const f = formFailure(err, values);
        const message = err instanceof AppError ? err.message : (f.state.message ?? 'Could not retire it.');
        return page(request, reply, { state: { values, errors: [{ field: 'version', message }] }, status: f.status });
      }
      return reply.redirect('/operator/keys?done=retired', 303);
    },
  );

  const opts = { preHandler: operator.requireOperator, config };
  r.get(
    '/api/v1/operator/keys',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Master key versions, the current one, the live instances and the count per key version (D3)',
        ...noInput,
        response: { 200: StatusJson },
      },
    },
    async () => statusJson(await keys.status(), keys.operation()),
  );
  for (const kind of ['rotate', 'rewrap'] as const) {
    r.post(
      `/api/v1/operator/keys/${kind}`,
      {
        ...opts,
        schema: {
          tags,
          security,
          summary:
            kind === 'rotate'
              ? 'Start a rotation: a new version, current once every live instance holds it'
              : 'Start re-wrapping every sealed value under the current version (in the background)',
          ...noInput,
          response: { 202: Type.Object({ operation: OperationJson }) },
        },
      },
      async (request, reply) =>
        reply.code(202).send({ operation: operationJson(keys.start(kind, actorOf(request), requestContext(request))) }),
    );
  }
  r.post(
    '/api/v1/operator/keys/retire',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Retire a master key version: refused while it is current or any record still needs it',
        body: Type.Object({ version: VersionText }, { additionalProperties: false }),
        response: { 200: Type.Object({ retired: Type.Integer() }) },
      },
    },
    async (request) => {
      const n = version(request.body.version);
      await keys.retire(n, actorOf(request), requestContext(request));
      return { retired: n };
    },
  );
}

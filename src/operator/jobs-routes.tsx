import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorPage } from '../feature.js';
import { formBody } from '../platform/http/forms.js';
import { noInput } from '../platform/http/schemas.js';
import { operatorOf } from './http.js';
import type { JobsConsole } from './jobs.js';
import { JobsPage } from './jobs-page.js';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const NameParams = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9._-]*$' }) },
  { additionalProperties: false },
);
const DoneQuery = Type.Object(
  { done: Type.Optional(Type.Union([Type.Literal('ran'), Type.Literal('failed')])) },
  { additionalProperties: false },
);
const DONE = { ran: 'The job ran.', failed: 'The job failed: its error is in the table.' } as const;
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const JobJson = Type.Object({
  name: Type.String(),
  everyMs: Type.Integer(),
  lastStartedAt: Time,
  lastFinishedAt: Time,
  lastOutcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  consecutiveFailures: Type.Integer(),
  totalRuns: Type.Integer(),
});

/** The console's jobs page (with Run now) and the operator API's list of jobs. */
export function operatorJobRoutes(
  app: FastifyInstance,
  deps: {
    jobs: JobsConsole;
    runner: 'in-process' | 'pg-boss';
    pages: readonly OperatorPage[];
    requireOperatorPage: Guard;
    requireOperator: Guard;
  },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { jobs, pages } = deps;

  r.get(
    '/operator/jobs',
    { schema: { querystring: DoneQuery }, preHandler: deps.requireOperatorPage },
    async (request, reply) =>
      reply.render(
        'Scheduled jobs',
        <JobsPage
          pages={pages}
          jobs={await jobs.list()}
          runner={deps.runner}
          csrf={request.csrfToken(reply)}
          notice={request.query.done ? DONE[request.query.done] : undefined}
        />,
      ),
  );

  r.post(
    '/operator/jobs/:name/run',
    { schema: { params: NameParams, body: formBody({}) }, preHandler: deps.requireOperatorPage },
    async (request, reply) => {
      const { failed } = await jobs.runNow(request.params.name, operatorOf(request));
      return reply.redirect(`/operator/jobs?done=${failed ? 'failed' : 'ran'}`, 303);
    },
  );

  r.get(
    '/api/v1/operator/jobs',
    {
      preHandler: deps.requireOperator,
      config: { csrfExempt: true, ownBearer: true },
      schema: {
        tags: ['operator'],
        security: [{ operatorToken: [] }],
        summary:
          "The scheduled jobs, each with its last run as any instance recorded it, and the last failure's message",
        ...noInput,
        response: { 200: Type.Object({ runner: Type.String(), jobs: Type.Array(JobJson) }) },
      },
    },
    async () => ({
      runner: deps.runner,
      jobs: (await jobs.list()).map((j) => ({
        ...j,
        lastStartedAt: j.lastStartedAt?.toISOString() ?? null,
        lastFinishedAt: j.lastFinishedAt?.toISOString() ?? null,
      })),
    }),
  );
}

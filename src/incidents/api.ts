import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { OperatorService } from '../operator/index.js';
import { notFound } from '../platform/errors.js';
import { noInput, OptionalText, Text, uuidParam } from '../platform/http/schemas.js';
import { incidentError } from './errors.js';
import type { IncidentsService } from './contract.js';
import { deadlines, IMPACTS, type IncidentRow, reportDue, responseOverdue, SEVERITIES } from './model.js';

const tags = ['operator'];
const security = [{ operatorToken: [] }];
/** Bearer operator tokens alone (never a cookie): no ambient credential, nothing to forge. */
const config = { csrfExempt: true as const, ownBearer: true as const };
const Enum = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Time = Type.String({ format: 'date-time' });
const MaybeTime = Type.Union([Time, Type.Null()]);

const IncidentJson = Type.Object({
  id: Type.String(),
  title: Type.String(),
  kind: Type.String(),
  severity: Type.String(),
  impact: Type.String(),
  components: Type.Array(Type.String()),
  draft: Type.Boolean(),
  public: Type.Boolean(),
  phase: Type.String(),
  declaredAt: Time,
  respondBy: MaybeTime,
  respondedAt: MaybeTime,
  responseOverdue: Type.Boolean(),
  startedAt: Time,
  resolvedAt: MaybeTime,
  closedAt: MaybeTime,
  reportDue: Type.Boolean(),
  breach: Type.Boolean(),
  awareAt: MaybeTime,
  deadlines: Type.Array(
    Type.Object({
      deadline: Type.String(),
      due: Time,
      doneAt: MaybeTime,
      overdue: Type.Boolean(),
      late: Type.Boolean(),
    }),
  ),
});

const DeclareJson = Type.Object(
  {
    title: Text({ maxLength: 200 }),
    kind: Enum(['incident', 'maintenance']),
    severity: Enum(SEVERITIES),
    impact: Enum(IMPACTS),
    components: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 }),
    public: Type.Boolean(),
    startedAt: Type.Optional(Time),
    scheduledStart: Type.Optional(Time),
    scheduledEnd: Type.Optional(Time),
    breach: Type.Optional(
      Type.Object(
        {
          awareAt: Time,
          regulatorRequired: Type.Boolean(),
          facts: OptionalText({ maxLength: 5000, multiline: true }),
          effects: OptionalText({ maxLength: 5000, multiline: true }),
          remedialAction: OptionalText({ maxLength: 5000, multiline: true }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const iso = (d: Date | null) => d?.toISOString() ?? null;
const json = (r: IncidentRow, now: Date) => ({
  id: r.id,
  title: r.title,
  kind: r.kind,
  severity: r.severity,
  impact: r.impact,
  components: [...r.components],
  draft: r.draft,
  public: r.public,
  phase: r.phase,
  declaredAt: r.declared_at.toISOString(),
  respondBy: iso(r.respond_by),
  respondedAt: iso(r.responded_at),
  responseOverdue: responseOverdue(r, now),
  startedAt: r.started_at.toISOString(),
  resolvedAt: iso(r.resolved_at),
  closedAt: iso(r.closed_at),
  reportDue: reportDue(r, now),
  breach: r.breach,
  awareAt: iso(r.aware_at),
  deadlines: deadlines(r, now).map((d) => ({
    deadline: d.key,
    due: d.due.toISOString(),
    doneAt: iso(d.doneAt),
    overdue: d.overdue,
    late: d.late,
  })),
});

/** X1: incidents over the operator API (operator bearer tokens): list, read, declare, the breach register. */
export function incidentApiRoutes(
  app: FastifyInstance,
  deps: { incidents: IncidentsService; operator: OperatorService },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { core, breaches } = deps.incidents.operatorConsole;
  const opts = { preHandler: deps.operator.requireOperator, config };

  r.get(
    '/api/v1/operator/incidents',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Incidents, newest first, with their flags',
        ...noInput,
        response: { 200: Type.Object({ incidents: Type.Array(IncidentJson) }) },
      },
    },
    async () => {
      const now = core.now();
      return { incidents: (await core.list()).map((row) => json(row, now)) };
    },
  );

  r.post(
    '/api/v1/operator/incidents',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'Declare an incident, scheduled maintenance or a personal-data breach',
        body: DeclareJson,
        response: { 201: Type.Object({ incident: IncidentJson }) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const date = (v?: string) => (v === undefined ? undefined : new Date(v));
      if (b.breach && Number.isNaN(new Date(b.breach.awareAt).getTime()))
        throw incidentError('incident_invalid', { fields: [{ field: 'awareAt', message: 'Give a date-time.' }] });
      const row = await core.declare(
        {
          title: b.title,
          kind: b.kind as 'incident' | 'maintenance',
          severity: b.severity as (typeof SEVERITIES)[number],
          impact: b.impact as (typeof IMPACTS)[number],
          components: b.components,
          public: b.public,
          startedAt: date(b.startedAt),
          scheduledStart: date(b.scheduledStart),
          scheduledEnd: date(b.scheduledEnd),
          breach: b.breach && {
            awareAt: new Date(b.breach.awareAt),
            regulatorRequired: b.breach.regulatorRequired,
            facts: b.breach.facts ?? '',
            effects: b.breach.effects ?? '',
            remedialAction: b.breach.remedialAction ?? '',
          },
        },
        deps.operator.operatorOf(request),
      );
      return reply.code(201).send({ incident: json(row, core.now()) });
    },
  );

  r.get(
    '/api/v1/operator/incidents/breaches',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'The breach register (GDPR Art. 33(5)), as the console exports it',
        ...noInput,
      },
    },
    async () => ({ breaches: await breaches.register() }),
  );

  r.get(
    '/api/v1/operator/incidents/:id',
    {
      ...opts,
      schema: {
        tags,
        security,
        summary: 'One incident with its flags',
        params: uuidParam,
        ...noInput,
        response: { 200: Type.Object({ incident: IncidentJson }) },
      },
    },
    async (request) => {
      const detail = await core.detail(request.params.id);
      if (!detail) throw notFound('The incident');
      return { incident: json(detail.row, core.now()) };
    },
  );
}

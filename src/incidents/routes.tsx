import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorService } from '../operator/index.js';
import { actorOf, type OrgService } from '../orgs/index.js';
import { csv } from '../platform/csv.js';
import { notFound } from '../platform/errors.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { noInput, OptionalText, Text } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { requireUser } from '../sessions/index.js';
import { type FormName, IncidentPage } from './detail-page.js';
import { incidentError } from './errors.js';
import type { IncidentsService } from './contract.js';
import { PHASES, SEVERITIES } from './model.js';
import { DeclarePage, IncidentListPage, NoticesPage, RegisterPage } from './pages.js';
import type { DeclareInput } from './service.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const Checkbox = Type.Optional(Type.Literal('on'));
const When = OptionalText({ maxLength: 40 });
const Note = (maxLength: number) => OptionalText({ maxLength, multiline: true });
const DoneQuery = Type.Object(
  { done: Type.Optional(Type.String({ maxLength: 40, pattern: '^[a-z-]+$' })) },
  { additionalProperties: false },
);
const Enum = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const declareBody = formBody({
  title: Text({ maxLength: 200 }),
  kind: Enum(['incident', 'maintenance']),
  severity: Enum(SEVERITIES),
  impact: Enum(['degraded', 'partial_outage', 'major_outage', 'maintenance']),
  component: Type.Optional(
    Type.Union([Type.String({ maxLength: 64 }), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })]),
  ),
  componentIds: OptionalText({ maxLength: 2000 }),
  public: Checkbox,
  startedAt: When,
  scheduledStart: When,
  scheduledEnd: When,
  firstUpdate: Note(5000),
  firstUpdatePublic: Checkbox,
  breach: Checkbox,
  awareAt: When,
  regulatorRequired: Checkbox,
  facts: Note(5000),
  effects: Note(5000),
  remedialAction: Note(5000),
});
const Minutes = Type.String({ maxLength: 6, pattern: '^[0-9]{1,5}$' });
const targetsBody = formBody({ critical: Minutes, high: Minutes, medium: Minutes, low: Minutes });
const updateBody = formBody({ message: Text({ maxLength: 5000, multiline: true }), public: Checkbox });
const phaseBody = formBody({ phase: Enum(PHASES), phaseMessage: Note(5000), public: Checkbox });
const resolveBody = formBody({ resolvedAt: When });
const reportBody = formBody({ body: Text({ maxLength: 20000, multiline: true }) });
const NotificationParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), key: Enum(['customers', 'regulator', 'report']) },
  { additionalProperties: false },
);
const notificationBody = formBody({
  'notifiedAt-customers': When,
  'notifiedAt-regulator': When,
  'notifiedAt-report': When,
  'lateReason-customers': Note(2000),
  'lateReason-regulator': Note(2000),
  'lateReason-report': Note(2000),
});
const notifyBody = formBody({
  orgIds: Type.String({ maxLength: 8000 }),
  notice: Text({ maxLength: 5000, multiline: true }),
  noticeLateReason: Note(2000),
});
const detailsBody = formBody({ facts: Note(5000), effects: Note(5000), remedialAction: Note(5000) });

/** A datetime-local field sends "2026-11-24T10:00": read as UTC. Empty: undefined; unreadable: an invalid date. */
export function utc(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d{1,3})?(Z|[+-]\d\d:\d\d)?$/.test(v)) return new Date(Number.NaN);
  return new Date(/Z|[+-]\d\d:\d\d$/.test(v) ? v : `${v}${v.length === 16 ? ':00' : ''}Z`);
}

const DONE: Record<string, string> = {
  declared: 'The incident is declared.',
  targets: 'The response targets are saved.',
  updates: 'The update is added.',
  phase: 'The incident moved on.',
  resolve: 'The restoration time is recorded.',
  report: 'The report is published.',
  confirm: 'The draft is confirmed and public.',
  notifications: 'The notification is recorded.',
  'notify-orgs': 'The organizations are notified.',
  breach: 'The breach record is saved.',
};

type Values = Record<string, string | undefined>;
const flat = (body: Record<string, unknown>): Values =>
  Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v as string)]));

export function incidentRoutes(
  app: FastifyInstance,
  deps: { incidents: IncidentsService; operator: OperatorService; orgs: OrgService },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { core, breaches } = deps.incidents.operatorConsole;
  const { pages, requireOperatorPage, operatorOf } = deps.operator;
  const guard = { preHandler: requireOperatorPage };

  const listPage = async (request: FastifyRequest, reply: FastifyReply, state?: FormState, notice?: string) =>
    reply
      .code(state ? 400 : 200)
      .render(
        'Incidents',
        <IncidentListPage
          pages={pages}
          incidents={await core.list()}
          targets={await core.targets()}
          now={core.now()}
          csrf={request.csrfToken(reply)}
          state={state}
          notice={notice}
        />,
      );

  const detailPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    opts: { form?: FormName; state?: FormState; status?: number; notice?: string } = {},
  ) => {
    const detail = await core.detail(id);
    if (!detail) throw notFound('The incident');
    return reply
      .code(opts.status ?? 200)
      .render(
        detail.row.title,
        <IncidentPage
          pages={pages}
          {...detail}
          now={core.now()}
          csrf={request.csrfToken(reply)}
          form={opts.form}
          state={opts.state}
          notice={opts.notice}
        />,
      );
  };

  r.get('/operator/incidents', { ...guard, schema: { querystring: DoneQuery } }, async (request, reply) =>
    listPage(request, reply, undefined, DONE[request.query.done ?? '']),
  );

  const declarePage = async (request: FastifyRequest, reply: FastifyReply, state?: FormState, status = 200) =>
    reply
      .code(status)
      .render(
        'Declare an incident',
        <DeclarePage
          pages={pages}
          components={await core.components()}
          csrf={request.csrfToken(reply)}
          state={state}
        />,
      );

  r.get('/operator/incidents/new', { ...guard, schema: noInput }, async (request, reply) =>
    declarePage(request, reply),
  );

  r.post(
    '/operator/incidents',
    { ...guard, schema: { body: declareBody }, attachValidation: true },
    async (request, reply) => {
      const values = flat(request.body as Record<string, unknown>);
      const errors = validationErrors(request);
      if (errors) return declarePage(request, reply, { values, errors }, 400);
      const b = request.body;
      const picked = b.component === undefined ? [] : Array.isArray(b.component) ? b.component : [b.component];
      const typed = (b.componentIds ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const input: DeclareInput = {
        title: b.title,
        kind: b.kind as DeclareInput['kind'],
        severity: b.severity as DeclareInput['severity'],
        impact: b.impact as DeclareInput['impact'],
        components: [...picked, ...typed],
        public: b.public === 'on',
        startedAt: utc(b.startedAt),
        scheduledStart: utc(b.scheduledStart),
        scheduledEnd: utc(b.scheduledEnd),
        firstUpdate: b.firstUpdate ? { message: b.firstUpdate, public: b.firstUpdatePublic === 'on' } : undefined,
        breach:
          b.breach === 'on'
            ? {
                awareAt: utc(b.awareAt) ?? core.now(),
                regulatorRequired: b.regulatorRequired === 'on',
                facts: b.facts ?? '',
                effects: b.effects ?? '',
                remedialAction: b.remedialAction ?? '',
              }
            : undefined,
      };
      values.components = input.components.join(',');
      try {
        const row = await core.declare(input, operatorOf(request));
        return reply.redirect(`/operator/incidents/${row.id}?done=declared`, 303);
      } catch (err) {
        const f = formFailure(err, values);
        return declarePage(request, reply, f.state, f.status);
      }
    },
  );

  r.post(
    '/operator/incidents/targets',
    { ...guard, schema: { body: targetsBody }, attachValidation: true },
    async (request, reply) => {
      const values = flat(request.body as Record<string, unknown>);
      const errors = validationErrors(request);
      if (errors) return listPage(request, reply, { values, errors });
      const b = request.body;
      try {
        await core.saveTargets(
          { critical: Number(b.critical), high: Number(b.high), medium: Number(b.medium), low: Number(b.low) },
          operatorOf(request),
        );
      } catch (err) {
        return listPage(request, reply, formFailure(err, values).state);
      }
      return reply.redirect('/operator/incidents?done=targets', 303);
    },
  );

  r.get('/operator/incidents/breaches', { ...guard, schema: noInput }, async (_request, reply) =>
    reply.render('Breach register', <RegisterPage pages={pages} entries={await breaches.register()} />),
  );

  r.get('/operator/incidents/breaches.json', { ...guard, schema: noInput }, async (_request, reply) =>
    reply
      .header('content-disposition', 'attachment; filename="breach-register.json"')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify({ exportedAt: core.now().toISOString(), breaches: await breaches.register() }, null, 2)),
  );

  r.get('/operator/incidents/breaches.csv', { ...guard, schema: noInput }, async (_request, reply) => {
    const entries = await breaches.register();
    const cell = (e: (typeof entries)[number], key: string) => e.deadlines.find((d) => d.deadline === key);
    const rows = entries.map((e) => [
      e.id,
      e.title,
      e.severity,
      e.awareAt,
      e.facts,
      e.effects,
      e.remedialAction,
      e.regulatorRequired ? 'yes' : 'no',
      ...['customers', 'regulator', 'report'].flatMap((k) => [
        cell(e, k)?.due ?? '',
        cell(e, k)?.doneAt ?? (cell(e, k)?.overdue ? 'overdue' : ''),
        cell(e, k)?.lateReason ?? '',
      ]),
      e.affectedOrganizations.map((o) => `${o.name} (${o.id}) ${o.notifiedAt}`).join('; '),
      e.closedAt ?? '',
    ]);
    const header = [
      'id',
      'title',
      'severity',
      'aware_at',
      'facts',
      'effects',
      'remedial_action',
      'regulator_required',
      'customers_due',
      'customers_notified_at',
      'customers_late_reason',
      'regulator_due',
      'regulator_notified_at',
      'regulator_late_reason',
      'report_due',
      'report_at',
      'report_late_reason',
      'affected_organizations',
      'closed_at',
    ];
    return reply
      .header('content-disposition', 'attachment; filename="breach-register.csv"')
      .type('text/csv; charset=utf-8')
      .send(csv(header, rows));
  });

  r.get(
    '/operator/incidents/:id',
    { ...guard, schema: { params: IdParams, querystring: DoneQuery } },
    async (request, reply) => detailPage(request, reply, request.params.id, { notice: DONE[request.query.done ?? ''] }),
  );

  /** One form of the incident page: validation, the change, then back to the page (or the page with errors). */
  function action<B extends TSchema, P extends TSchema = typeof IdParams>(
    path: string,
    form: (params: Static<P>) => FormName,
    body: B,
    run: (request: FastifyRequest, params: Static<P>, body: Static<B>) => Promise<unknown>,
    params?: P,
  ) {
    app.post(
      `/operator/incidents/:id/${path}`,
      { ...guard, schema: { params: params ?? IdParams, body }, attachValidation: true },
      async (request: FastifyRequest, reply: FastifyReply) => {
        const p = request.params as Static<P> & { id: string };
        const values = flat((request.body ?? {}) as Record<string, unknown>);
        const errors = validationErrors(request);
        if (errors) return detailPage(request, reply, p.id, { form: form(p), state: { values, errors }, status: 400 });
        try {
          await run(request, p, request.body as Static<B>);
        } catch (err) {
          const f = formFailure(err, values);
          return detailPage(request, reply, p.id, { form: form(p), state: f.state, status: f.status });
        }
        return reply.redirect(`/operator/incidents/${p.id}?done=${path.split('/')[0]}`, 303);
      },
    );
  }

  action(
    'updates',
    () => 'update',
    updateBody,
    (req, p, b) => core.addUpdate(p.id, { message: b.message, public: b.public === 'on' }, operatorOf(req)),
  );
  action(
    'phase',
    () => 'phase',
    phaseBody,
    (req, p, b) =>
      core.advance(
        p.id,
        b.phase as (typeof PHASES)[number],
        b.phaseMessage ? { message: b.phaseMessage, public: b.public === 'on' } : undefined,
        operatorOf(req),
      ),
  );
  action(
    'resolve',
    () => 'resolve',
    resolveBody,
    (req, p, b) => core.resolve(p.id, utc(b.resolvedAt) ?? core.now(), operatorOf(req)),
  );
  action(
    'report',
    () => 'report',
    reportBody,
    (req, p, b) => core.publishReport(p.id, b.body, operatorOf(req)),
  );
  action(
    'confirm',
    () => 'update',
    formBody({}),
    (req, p) => core.confirm(p.id, operatorOf(req)),
  );
  action(
    'breach',
    () => 'details',
    detailsBody,
    (req, p, b) =>
      breaches.recordDetails(
        p.id,
        { facts: b.facts ?? '', effects: b.effects ?? '', remedialAction: b.remedialAction ?? '' },
        operatorOf(req),
      ),
  );
  action(
    'notify-orgs',
    () => 'notify',
    notifyBody,
    (req, p, b) =>
      breaches.notifyOrgs(
        p.id,
        { orgIds: b.orgIds.split(/[\s,]+/), message: b.notice, lateReason: b.noticeLateReason },
        operatorOf(req),
      ),
  );
  action(
    'notifications/:key',
    (p) => `notification-${p.key}`,
    notificationBody,
    (req, p, b) => {
      const key = p.key as 'customers' | 'regulator' | 'report';
      const at = utc(b[`notifiedAt-${key}`]);
      if (at && Number.isNaN(at.getTime()))
        throw incidentError('incident_invalid', {
          fields: [{ field: `notifiedAt-${key}`, message: 'Give a time like 2026-11-24T10:00 (UTC).' }],
        });
      return breaches.recordNotification(p.id, key, { at, lateReason: b[`lateReason-${key}`] }, operatorOf(req));
    },
    NotificationParams,
  );

  r.get(
    '/orgs/:orgId/security-notices',
    {
      preHandler: requireUser,
      schema: { params: OrgParams, querystring: Type.Object({}, { additionalProperties: false }) },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const org = await deps.orgs.get(actor, request.params.orgId);
      const notices = await breaches.notices(actor, org.id);
      return reply.render('Security notices', <NoticesPage orgId={org.id} orgName={org.name} notices={notices} />);
    },
  );
}

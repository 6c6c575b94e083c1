import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorService } from '../operator/index.js';
import { AppError } from '../platform/errors.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { Email, noInput, OptionalText, Text, uuidParam } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { ReportPage, ReportsPage } from './console-pages.js';
import { LIMITS, PolicyPage, ReportFormPage, ReportSentPage, ReportStatusPage, ThanksPage } from './pages.js';
import { securityTxt } from './security-txt.js';
import { disclosureError } from './errors.js';
import type { DisclosureService } from './service.js';

const reportBody = formBody({
  summary: Text({ maxLength: LIMITS.summary }),
  details: Text({ maxLength: LIMITS.details, multiline: true }),
  affected: OptionalText({ maxLength: LIMITS.affected }),
  email: Email,
  name: OptionalText({ maxLength: LIMITS.name }),
  credit: Type.Optional(Type.Literal('yes')),
  creditName: OptionalText({ maxLength: LIMITS.name }),
  website: Type.Optional(Type.String({ maxLength: 500 })),
  formToken: Type.Optional(Type.String({ maxLength: 200 })),
});
const Status = Type.Union([
  Type.Literal('acknowledged'),
  Type.Literal('triaging'),
  Type.Literal('resolved'),
  Type.Literal('not_applicable'),
  Type.Literal('duplicate'),
]);
const statusBody = formBody({ status: Status });
const noteBody = formBody({ note: Text({ maxLength: 4000, multiline: true }) });
const settingsBody = formBody({ ackBusinessDays: Type.String({ maxLength: 10 }) });
const sentQuery = Type.Object(
  { ref: Type.String({ pattern: '^VR-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$' }) },
  { additionalProperties: false },
);
const tokenQuery = Type.Object({ token: Type.String({ maxLength: 100 }) }, { additionalProperties: false });
const doneQuery = Type.Object(
  { done: Type.Optional(Type.Union([Type.Literal('saved'), Type.Literal('status'), Type.Literal('note')])) },
  { additionalProperties: false },
);
const NOTICES = { saved: 'The deadline is saved.', status: 'The status is changed.', note: 'The note is added.' };

export function disclosureRoutes(
  app: FastifyInstance,
  deps: { service: DisclosureService; operator: OperatorService; baseUrl: string; now: () => Date },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { service, operator, baseUrl } = deps;
  const guard = operator.requireOperatorPage;

  // ---- public ----

  r.get('/.well-known/security.txt', { schema: noInput }, async (_request, reply) => {
    const s = await operator.console.settings();
    return reply
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(securityTxt({ baseUrl, ...s, now: deps.now() }));
  });
  // RFC 9116 section 3: the legacy top-level location may redirect to the canonical one.
  r.get('/security.txt', { schema: noInput }, async (_request, reply) =>
    reply.redirect('/.well-known/security.txt', 301),
  );

  r.get('/security/policy', { schema: noInput }, async (_request, reply) =>
    reply.render('Vulnerability disclosure policy', <PolicyPage settings={await operator.console.settings()} />),
  );

  r.get('/security/thanks', { schema: noInput }, async (_request, reply) =>
    reply.render(
      'Thanks',
      <ThanksPage productName={(await operator.console.settings()).productName} names={await service.thanks()} />,
    ),
  );

  const formPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; status?: number; formToken?: string } = {},
  ) =>
    reply
      .code(opts.status ?? 200)
      .header('cache-control', 'no-store')
      .render(
        'Report a security problem',
        <ReportFormPage
          csrf={request.csrfToken(reply)}
          formToken={opts.formToken ?? service.formToken()}
          state={opts.state}
          productName={(await operator.console.settings()).productName}
          ackDays={await service.ackDays()}
        />,
      );

  r.get('/security/report', { schema: noInput }, async (request, reply) => formPage(request, reply));

  r.post('/security/report', { schema: { body: reportBody }, attachValidation: true }, async (request, reply) => {
    const body = request.body ?? ({} as Partial<typeof request.body>);
    const values = {
      summary: body.summary,
      details: body.details,
      affected: body.affected,
      email: body.email,
      name: body.name,
      credit: body.credit,
      creditName: body.creditName,
    };
    const keep = body.formToken;
    try {
      await service.admit(requestContext(request));
      const errors = validationErrors(request);
      if (errors) return await formPage(request, reply, { state: { values, errors }, status: 400, formToken: keep });
      const { reference } = await service.submit(
        {
          summary: body.summary,
          details: body.details,
          affected: body.affected,
          email: body.email,
          name: body.name,
          credit: body.credit === 'yes',
          creditName: body.creditName,
          website: body.website,
          token: body.formToken ?? '',
        },
        requestContext(request),
      );
      return reply.redirect(`/security/report/sent?ref=${reference}`, 303);
    } catch (err) {
      const f = formFailure(err, values);
      if (f.retryAfter !== undefined) reply.header('Retry-After', String(f.retryAfter));
      const fresh = err instanceof AppError && err.code === 'report_form_expired';
      return formPage(request, reply, { state: f.state, status: f.status, formToken: fresh ? undefined : keep });
    }
  });

  r.get('/security/report/sent', { schema: { querystring: sentQuery } }, async (request, reply) =>
    reply.render('Report received', <ReportSentPage reference={request.query.ref} />),
  );

  r.get('/security/report/status', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    const { report, timeline } = await service.byStatusToken(request.query.token);
    return reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .render(`Security report ${report.reference}`, <ReportStatusPage report={report} timeline={timeline} />);
  });

  // ---- operator console ----

  const listPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; status?: number; notice?: string } = {},
  ) =>
    reply
      .code(opts.status ?? 200)
      .render(
        'Vulnerability reports',
        <ReportsPage
          pages={operator.pages}
          reports={await service.list()}
          now={deps.now()}
          ackDays={await service.ackDays()}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          notice={opts.notice}
        />,
      );

  r.get('/operator/disclosure', { schema: { querystring: doneQuery }, preHandler: guard }, async (request, reply) =>
    listPage(request, reply, { notice: request.query.done ? NOTICES[request.query.done] : undefined }),
  );

  r.post(
    '/operator/disclosure/settings',
    { schema: { body: settingsBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const values = { ackBusinessDays: request.body?.ackBusinessDays as string | undefined };
      const raw = (values.ackBusinessDays ?? '').trim();
      try {
        if (validationErrors(request)) throw disclosureError('disclosure_settings_invalid');
        await service.setAckDays(/^\d{1,2}$/.test(raw) ? Number(raw) : Number.NaN, operator.operatorOf(request));
      } catch (err) {
        const f = formFailure(err, values);
        const errors = [{ field: 'ackBusinessDays', message: f.state.message ?? 'Give a number from 1 to 30.' }];
        return listPage(request, reply, { state: { values, errors }, status: f.status });
      }
      return reply.redirect('/operator/disclosure?done=saved', 303);
    },
  );

  const reportPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    opts: { state?: FormState; status?: number; notice?: string } = {},
  ) => {
    const { report, timeline } = await service.get(id);
    return reply
      .code(opts.status ?? 200)
      .render(
        `Report ${report.reference}`,
        <ReportPage
          pages={operator.pages}
          report={report}
          timeline={timeline}
          now={deps.now()}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          notice={opts.notice}
        />,
      );
  };

  r.get(
    '/operator/disclosure/:id',
    { schema: { params: uuidParam, querystring: doneQuery }, preHandler: guard },
    async (request, reply) =>
      reportPage(request, reply, request.params.id, {
        notice: request.query.done ? NOTICES[request.query.done] : undefined,
      }),
  );

  r.post(
    '/operator/disclosure/:id/status',
    { schema: { params: uuidParam, body: statusBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const { id } = request.params;
      const values = { status: request.body?.status as string | undefined };
      const errors = validationErrors(request);
      if (errors) return reportPage(request, reply, id, { state: { values, errors }, status: 400 });
      try {
        await service.changeStatus(id, request.body.status, operator.operatorOf(request));
      } catch (err) {
        if (err instanceof AppError && err.code === 'report_not_found') throw err;
        const f = formFailure(err, values);
        return reportPage(request, reply, id, { state: f.state, status: f.status });
      }
      return reply.redirect(`/operator/disclosure/${id}?done=status`, 303);
    },
  );

  r.post(
    '/operator/disclosure/:id/notes',
    { schema: { params: uuidParam, body: noteBody }, attachValidation: true, preHandler: guard },
    async (request, reply) => {
      const { id } = request.params;
      const values = { note: request.body?.note as string | undefined };
      const errors = validationErrors(request);
      if (errors) return reportPage(request, reply, id, { state: { values, errors }, status: 400 });
      await service.addNote(id, request.body.note, operator.operatorOf(request));
      return reply.redirect(`/operator/disclosure/${id}?done=note`, 303);
    },
  );
}

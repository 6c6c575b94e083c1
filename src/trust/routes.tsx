import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { OperatorService } from '../operator/index.js';
import { operatorActor } from '../operator/index.js';
import { noInput } from '../platform/http/schemas.js';
import { formBody } from '../platform/http/forms.js';
import { caiqAnswers, caiqCsv, CAIQ_VERSION } from './caiq.js';
import { OperatorTrustPage, TrustPage } from './pages.js';
import type { TrustService } from './service.js';

const doneQuery = Type.Object({ done: Type.Optional(Type.Literal('run')) }, { additionalProperties: false });
const apiConfig = { csrfExempt: true as const, ownBearer: true as const };
const Summary = Type.Object({
  controls: Type.Integer(),
  passing: Type.Integer(),
  failing: Type.Integer(),
  not_configured: Type.Integer(),
  not_built: Type.Integer(),
  pending: Type.Integer(),
});

export function trustRoutes(app: FastifyInstance, trust: TrustService, operator: OperatorService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/trust', { schema: noInput }, async (_request, reply) => {
    const [report, settings] = await Promise.all([trust.report(), trust.settings()]);
    return reply.render(`${settings.productName} trust page`, <TrustPage report={report} settings={settings} />);
  });

  r.get('/trust.json', { schema: { ...noInput, hide: true } }, async (_request, reply) => {
    reply.type('application/json; charset=utf-8');
    return JSON.stringify(await trust.signed());
  });

  r.get('/trust/key', { schema: { ...noInput, hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.type('application/jwk-set+json; charset=utf-8');
    return JSON.stringify(trust.jwks());
  });

  r.get('/trust/caiq.json', { schema: { ...noInput, hide: true } }, async (_request, reply) => {
    const report = await trust.report();
    reply.type('application/json; charset=utf-8');
    return JSON.stringify({
      questionnaire: CAIQ_VERSION,
      instance: report.instance,
      generatedAt: report.generatedAt,
      answers: caiqAnswers(report),
    });
  });

  r.get('/trust/caiq.csv', { schema: { ...noInput, hide: true } }, async (_request, reply) => {
    const report = await trust.report();
    reply.type('text/csv; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="caiq-v4.csv"');
    return caiqCsv(caiqAnswers(report));
  });

  r.get(
    '/operator/trust',
    { schema: { querystring: doneQuery }, preHandler: operator.requireOperatorPage },
    async (request, reply) => {
      const [report, changes] = await Promise.all([trust.report(), trust.changes()]);
      return reply.render(
        'Trust checks',
        <OperatorTrustPage
          pages={operator.pages}
          report={report}
          changes={changes}
          stray={trust.stray}
          csrf={request.csrfToken(reply)}
          notice={request.query.done ? 'The checks ran; the results below are the new ones.' : undefined}
        />,
      );
    },
  );

  r.post(
    '/operator/trust/run',
    { schema: { body: formBody({}) }, preHandler: operator.requireOperatorPage },
    async (request, reply) => {
      await trust.runner.runNow(operatorActor(operator.operatorOf(request)));
      return reply.redirect('/operator/trust?done=run', 303);
    },
  );

  r.post(
    '/api/v1/operator/trust/run',
    {
      preHandler: operator.requireOperator,
      config: apiConfig,
      schema: {
        tags: ['operator'],
        security: [{ operatorToken: [] }],
        summary: "Run the trust page's live checks now; answers with the new results",
        ...noInput,
        response: {
          200: Type.Object({
            summary: Summary,
            checks: Type.Array(
              Type.Object({
                control: Type.String(),
                id: Type.String(),
                status: Type.String(),
                detail: Type.String(),
                checkedAt: Type.String(),
                changedAt: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const results = await trust.runner.runNow(operatorActor(operator.operatorOf(request)));
      const report = await trust.report();
      const current = new Set(trust.runner.checks.map((c) => c.id));
      return {
        summary: report.summary,
        checks: results
          .filter((r) => current.has(r.checkId))
          .map((r) => ({
            control: r.control,
            id: r.checkId,
            status: r.status,
            detail: r.detail,
            checkedAt: r.checkedAt.toISOString(),
            changedAt: r.changedAt.toISOString(),
          })),
      };
    },
  );
}

import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actorOf } from '../orgs/index.js';
import type { OrgService } from '../orgs/index.js';
import { can } from '../orgs/index.js';
import { AppError, platformError } from '../platform/errors.js';
import { formBody } from '../platform/http/forms.js';
import { OptionalText } from '../platform/http/schemas.js';
import { requireUser } from '../sessions/index.js';
import { Before, FilterQuery, toFilter, type FilterInput } from './api.js';
import type { OrgAuditLog } from './org-log.js';
import { AuditPage } from './pages.js';
import type { ChainVerdict } from '../platform/audit/events.js';

const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
// A datetime-local field sends "2026-11-24T10:00": read it as UTC.
const pageFilter = { ...FilterQuery, from: OptionalText({ maxLength: 40 }), to: OptionalText({ maxLength: 40 }) };
const asUtc = (v?: string) =>
  v ? (/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}${v.length === 16 ? ':00' : ''}Z`) : undefined;

export function auditPageRoutes(app: FastifyInstance, log: OrgAuditLog, orgs: OrgService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  async function page(
    request: FastifyRequest & { params: Static<typeof OrgParams> },
    reply: FastifyReply,
    query: FilterInput & { before?: number },
    verdict?: ChainVerdict,
  ) {
    const actor = actorOf(request);
    const org = await orgs.get(actor, request.params.orgId);
    const filter = { actor: query.actor, action: query.action, from: asUtc(query.from), to: asUtc(query.to) };
    let error: string | undefined;
    let result: Awaited<ReturnType<OrgAuditLog['query']>> = { events: [], next: null };
    try {
      if ([filter.from, filter.to].some((d) => d && Number.isNaN(new Date(d).getTime())))
        throw platformError('invalid_request', { message: 'Enter dates like 2026-11-24T10:00.' });
      result = await log.query(actor, org.id, toFilter(filter), { before: query.before });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'invalid_request') throw err;
      error = err.message;
      reply.code(400);
    }
    return reply.render(
      'Audit log',
      <AuditPage
        orgId={org.id}
        orgName={org.name}
        csrf={request.csrfToken(reply)}
        events={result.events}
        next={result.next}
        filter={filter}
        canExport={can(org.role, 'audit.export')}
        verdict={verdict}
        error={error}
      />,
    );
  }

  r.get(
    '/orgs/:orgId/audit',
    {
      preHandler: requireUser,
      schema: {
        params: OrgParams,
        querystring: Type.Object({ ...pageFilter, before: Before }, { additionalProperties: false }),
      },
    },
    async (request, reply) => page(request, reply, request.query),
  );

  r.post(
    '/orgs/:orgId/audit/verify',
    { preHandler: requireUser, schema: { params: OrgParams, body: formBody({}) } },
    async (request, reply) => page(request, reply, {}, await log.verify(actorOf(request), request.params.orgId)),
  );
}

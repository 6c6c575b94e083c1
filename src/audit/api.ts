import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actorOf, requireUserOrKey } from '../orgs/index.js';
import { platformError } from '../platform/errors.js';
import { requestContext } from '../platform/http/request-context.js';
import { Int, OptionalText } from '../platform/http/schemas.js';
import type { EventFilter } from './log.js';
import type { OrgAuditLog } from './org-log.js';

const tags = ['audit'];
const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const FilterQuery = {
  actor: OptionalText({ maxLength: 200 }),
  action: OptionalText({ maxLength: 100 }),
  from: OptionalText({ format: 'date-time', maxLength: 40 }),
  to: OptionalText({ format: 'date-time', maxLength: 40 }),
};
/** `before` is an event's sequence number (bigint in the table): exact in JavaScript up to 2^53 - 1. */
export const Before = Type.Optional(Int({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }));
export type FilterInput = { actor?: string; action?: string; from?: string; to?: string };

const EventJson = Type.Object({
  seq: Type.Integer(),
  occurredAt: Type.String({ format: 'date-time' }),
  actor: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Record(Type.String(), Type.Unknown()),
  hash: Type.String(),
});

export function toFilter(q: FilterInput): EventFilter {
  const filter: EventFilter = {
    actor: q.actor || undefined,
    action: q.action || undefined,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
  };
  if (filter.from && filter.to && filter.from >= filter.to)
    throw platformError('invalid_request', {
      message: 'The start of the time range must be before its end.',
      fields: [{ field: 'to', message: 'must be after from' }],
    });
  return filter;
}

/** L2 as JSON: filter and page the org's log, export it (CSV or JSON Lines), verify its chain. */
export function auditApiRoutes(app: FastifyInstance, log: OrgAuditLog): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const opts = { preHandler: requireUserOrKey };

  r.get(
    '/api/v1/orgs/:orgId/audit',
    {
      ...opts,
      schema: {
        tags,
        summary:
          'Audit events, newest first (audit.read). Page with `before` = the `next` of the previous page. ' +
          '`action` may end in * (prefix).',
        params: OrgParams,
        querystring: Type.Object(
          { ...FilterQuery, before: Before, limit: Type.Optional(Int({ minimum: 1, maximum: 200 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ events: Type.Array(EventJson), next: Type.Union([Type.Integer(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const page = await log.query(actorOf(request), request.params.orgId, toFilter(request.query), {
        before: request.query.before,
        limit: request.query.limit,
      });
      return { events: page.events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })), next: page.next };
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/audit/export',
    {
      ...opts,
      schema: {
        tags,
        summary:
          'Export the (filtered) log, oldest first, as CSV or JSON Lines (audit.export); the export is itself ' +
          'an audit event',
        params: OrgParams,
        querystring: Type.Object(
          { ...FilterQuery, format: Type.Union([Type.Literal('csv'), Type.Literal('jsonl')]) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { format } = request.query;
      const { body } = await log.export(
        actorOf(request),
        request.params.orgId,
        toFilter(request.query),
        format,
        requestContext(request),
      );
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="audit-${request.params.orgId}.${format}"`)
        .send(body);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/audit/verify',
    {
      ...opts,
      schema: {
        tags,
        summary: "Verify the organization's hash chain (audit.read): ok, or the first broken event",
        params: OrgParams,
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            events: Type.Integer(),
            brokenAt: Type.Optional(Type.Integer()),
            reason: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const v = await log.verify(actorOf(request), request.params.orgId);
      return v.ok
        ? { ok: true, events: v.events }
        : { ok: false, events: v.events, brokenAt: v.brokenAt, reason: v.reason };
    },
  );
}

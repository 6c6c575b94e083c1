import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { requestContext } from '../platform/http/request-context.js';
import { OptionalText } from '../platform/http/schemas.js';
import { actorOf, requireUserOrKey } from './http.js';
import { reviewCsv, type AccessReviews } from './reviews.js';

const tags = ['organizations'];
const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const Row = Type.Object({
  userId: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: Type.String(),
  joinedAt: Type.String({ format: 'date-time' }),
  invitedBy: Type.Union([Type.String(), Type.Null()]),
  lastActiveAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  mfa: Type.Boolean(),
});

/** O4 as JSON and CSV. */
export function reviewApiRoutes(app: FastifyInstance, reviews: AccessReviews): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const opts = { preHandler: requireUserOrKey };

  r.get(
    '/api/v1/orgs/:orgId/access-review',
    {
      ...opts,
      schema: {
        tags,
        summary: 'The access review report: members, roles, joined, invited by, last active, MFA (reviews.read)',
        params: OrgParams,
        response: {
          200: Type.Object({
            members: Type.Array(Row),
            lastSignOff: Type.Union([
              Type.Object({
                reviewer: Type.String(),
                at: Type.String({ format: 'date-time' }),
                membersReviewed: Type.Integer(),
                note: Type.Union([Type.String(), Type.Null()]),
              }),
              Type.Null(),
            ]),
            nextDue: Type.String({ format: 'date-time' }),
          }),
        },
      },
    },
    async (request) => {
      const r = await reviews.report(actorOf(request), request.params.orgId);
      return {
        members: r.members.map((m) => ({
          ...m,
          joinedAt: m.joinedAt.toISOString(),
          lastActiveAt: m.lastActiveAt?.toISOString() ?? null,
        })),
        lastSignOff: r.lastSignOff ? { ...r.lastSignOff, at: r.lastSignOff.at.toISOString() } : null,
        nextDue: r.nextDue.toISOString(),
      };
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/access-review.csv',
    { ...opts, schema: { tags, summary: 'The access review report as CSV (reviews.read)', params: OrgParams } },
    async (request, reply) => {
      const r = await reviews.report(actorOf(request), request.params.orgId);
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="access-review-${request.params.orgId}.csv"`)
        .send(reviewCsv(r));
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/access-review/sign-off',
    {
      ...opts,
      schema: {
        tags,
        summary: 'Sign off the review (reviews.sign_off); recorded with the reviewer and time',
        params: OrgParams,
        body: Type.Object(
          { note: OptionalText({ maxLength: 2000, multiline: true }) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ at: Type.String({ format: 'date-time' }) }) },
      },
    },
    async (request, reply) => {
      const { at } = await reviews.signOff(
        actorOf(request),
        request.params.orgId,
        request.body.note,
        requestContext(request),
      );
      return reply.code(201).send({ at: at.toISOString() });
    },
  );
}

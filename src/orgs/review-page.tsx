import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { formBody } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { OptionalText } from '../platform/http/schemas.js';
import { Field, Form } from '../platform/views/forms.js';
import { day, Notice, Table } from '../platform/views/format.js';
import { requireUser } from '../sessions/index.js';
import { actorOf } from './http.js';
import { can } from './permissions.js';
import type { AccessReviews, ReviewReport } from './reviews.js';
import type { OrgService } from './service.js';

const OrgParams = Type.Object({ orgId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

function ReviewPage({
  orgId,
  orgName,
  report,
  csrf,
  canSignOff,
  signedOff,
  now,
}: {
  orgId: string;
  orgName: string;
  report: ReviewReport;
  csrf: string;
  canSignOff: boolean;
  signedOff: boolean;
  now: Date;
}) {
  const overdue = report.nextDue <= now;
  return (
    <>
      <p>
        <a href={`/orgs/${orgId}`}>← {orgName}</a>
      </p>
      <h1>Access review</h1>
      <Notice text={signedOff ? 'Review signed off and recorded in the audit log.' : undefined} />
      <p>
        {report.lastSignOff
          ? `Last signed off on ${day(report.lastSignOff.at)} by ${report.lastSignOff.reviewer} ` +
            `(${report.lastSignOff.membersReviewed} members).`
          : 'This organization has never been reviewed.'}{' '}
        <strong>
          {overdue ? 'A review is due now.' : `The next quarterly review is due on ${day(report.nextDue)}.`}
        </strong>
      </p>
      <Table columns={['Member', 'Role', 'Joined', 'Invited by', 'Last active', 'Two-factor']}>
        {report.members.map((m) => (
          <tr>
            <td>{m.email}</td>
            <td>{m.role}</td>
            <td>{day(m.joinedAt)}</td>
            <td>{m.invitedBy ?? 'founder'}</td>
            <td>{m.lastActiveAt ? day(m.lastActiveAt) : 'never'}</td>
            <td>{m.mfa ? 'yes' : 'no'}</td>
          </tr>
        ))}
      </Table>
      <p>
        <a href={`/api/v1/orgs/${orgId}/access-review.csv`} download>
          Download as CSV
        </a>{' '}
        · <a href={`/orgs/${orgId}/members`}>Change roles or remove members</a>
      </p>
      {canSignOff && (
        <Form action={`/orgs/${orgId}/review/sign-off`} csrf={csrf} label="Sign off this review">
          <Field name="note" label="Note (optional)" required={false} hint="What you checked, and what you changed." />
          <button type="submit">I reviewed every member: sign off</button>
        </Form>
      )}
    </>
  );
}

/** O4: the access review page. */
export function reviewPageRoutes(
  app: FastifyInstance,
  reviews: AccessReviews,
  orgs: OrgService,
  now: () => Date,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/orgs/:orgId/review',
    {
      preHandler: requireUser,
      schema: {
        params: OrgParams,
        querystring: Type.Object({ done: Type.Optional(Type.Literal('1')) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const org = await orgs.get(actor, request.params.orgId);
      const report = await reviews.report(actor, org.id);
      return reply.render(
        'Access review',
        <ReviewPage
          orgId={org.id}
          orgName={org.name}
          report={report}
          csrf={request.csrfToken(reply)}
          canSignOff={can(org.role, 'reviews.sign_off')}
          signedOff={request.query.done === '1'}
          now={now()}
        />,
      );
    },
  );

  r.post(
    '/orgs/:orgId/review/sign-off',
    {
      preHandler: requireUser,
      schema: { params: OrgParams, body: formBody({ note: OptionalText({ maxLength: 2000, multiline: true }) }) },
    },
    async (request, reply) => {
      await reviews.signOff(
        actorOf(request),
        request.params.orgId,
        request.body.note || undefined,
        requestContext(request),
      );
      return reply.redirect(`/orgs/${request.params.orgId}/review?done=1`, 303);
    },
  );
}

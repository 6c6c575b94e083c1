import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { noInput } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { statusError } from './errors.js';
import { atomFeed, summaryJson } from './feeds.js';
import { DonePage, IncidentPage, StatusPage, SubscribeSentPage, TokenActionPage } from './pages.js';
import type { StatusService } from './service.js';
import type { SubscriberService } from './subscribers.js';

export interface StatusRouteDeps {
  status: StatusService;
  subscribers: SubscriberService;
  productName: () => Promise<string>;
  baseUrl: string;
  now: () => Date;
}

const incidentParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);
const tokenQuery = Type.Object({ token: Type.String({ maxLength: 100 }) }, { additionalProperties: false });
const subscribeBody = formBody({
  email: Type.String({ maxLength: 320 }),
  component: Type.String({ maxLength: 60 }),
});
const tokenBody = formBody({ token: Type.String({ maxLength: 100 }) });
/** RFC 8058: a mail client posts `List-Unsubscribe=One-Click` to the List-Unsubscribe address. */
const unsubscribeBody = Type.Object(
  {
    'List-Unsubscribe': Type.Optional(Type.Literal('One-Click')),
    token: Type.Optional(Type.String({ maxLength: 100 })),
    _csrf: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export function statusRoutes(app: FastifyInstance, deps: StatusRouteDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { status, subscribers } = deps;

  const statusPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; code?: number } = {},
  ) => {
    const [{ components, incidents }, productName] = await Promise.all([status.shown(), deps.productName()]);
    const uptime = await status.uptime(components);
    return reply
      .code(opts.code ?? 200)
      .render(
        `${productName} status`,
        <StatusPage
          productName={productName}
          components={components}
          incidents={incidents}
          uptime={uptime}
          now={deps.now()}
          csrf={request.csrfToken(reply)}
          state={opts.state}
        />,
      );
  };

  r.get('/status', { schema: noInput }, async (request, reply) => statusPage(request, reply));

  r.get('/status/incidents/:id', { schema: { params: incidentParams } }, async (request, reply) => {
    const incident = await status.incident(request.params.id);
    if (!incident) throw statusError('status_incident_not_found');
    const { components } = await status.shown();
    return reply.render(incident.title, <IncidentPage incident={incident} components={components} />);
  });

  const summary = async (_request: FastifyRequest, reply: FastifyReply) => {
    const [{ components, incidents }, productName] = await Promise.all([status.shown(), deps.productName()]);
    reply.header('cache-control', 'public, max-age=30');
    const body = summaryJson({ baseUrl: deps.baseUrl, productName, components, incidents, now: deps.now() });
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
  };
  r.get('/status/summary.json', { schema: noInput }, summary);
  // Where Statuspage clients look for it, relative to the page's address.
  r.get('/status/api/v2/summary.json', { schema: noInput }, summary);

  r.get('/status/feed.atom', { schema: noInput }, async (_request, reply) => {
    const [incidents, productName] = await Promise.all([status.publicIncidents(), deps.productName()]);
    reply.header('cache-control', 'public, max-age=60');
    return reply
      .type('application/atom+xml; charset=utf-8')
      .send(atomFeed({ baseUrl: deps.baseUrl, productName, incidents, now: deps.now() }));
  });

  r.post('/status/subscribe', { schema: { body: subscribeBody }, attachValidation: true }, async (request, reply) => {
    const values = { email: request.body.email, component: request.body.component };
    const errors = validationErrors(request);
    if (errors) return statusPage(request, reply, { state: { values, errors }, code: 400 });
    try {
      await subscribers.subscribe(
        { email: values.email, components: values.component === 'all' ? 'all' : [values.component] },
        request.ip,
      );
    } catch (err) {
      const f = formFailure(err, values);
      if (f.retryAfter) reply.header('retry-after', String(f.retryAfter));
      return statusPage(request, reply, { state: f.state, code: f.status });
    }
    return reply.render('Check your inbox', <SubscribeSentPage />);
  });

  r.get('/status/subscribe/confirm', { schema: { querystring: tokenQuery } }, async (request, reply) => {
    if (!(await subscribers.pending(request.query.token))) throw statusError('status_link_expired');
    return reply.render(
      'Confirm your subscription',
      <TokenActionPage
        heading="Confirm your subscription"
        text="Confirm that this address should receive status updates by e-mail."
        action="/status/subscribe/confirm"
        token={request.query.token}
        button="Confirm subscription"
        csrf={request.csrfToken(reply)}
      />,
    );
  });

  r.post('/status/subscribe/confirm', { schema: { body: tokenBody } }, async (request, reply) => {
    await subscribers.confirm(request.body.token);
    return reply.render(
      'Subscribed',
      <DonePage
        heading="Subscribed"
        text="This address now receives status updates. Each mail has an unsubscribe link."
      />,
    );
  });

  r.get('/status/unsubscribe', { schema: { querystring: tokenQuery } }, async (request, reply) =>
    reply.render(
      'Unsubscribe',
      <TokenActionPage
        heading="Unsubscribe from status updates"
        text="Stop sending status updates to this address."
        action={`/status/unsubscribe?token=${encodeURIComponent(request.query.token)}`}
        token={request.query.token}
        button="Unsubscribe"
        csrf={request.csrfToken(reply)}
      />,
    ),
  );

  // One-click (RFC 8058): the mail client posts cross-site without our cookies; the token is the credential.
  r.post(
    '/status/unsubscribe',
    {
      schema: { querystring: Type.Partial(tokenQuery, { additionalProperties: false }), body: unsubscribeBody },
      config: { csrfExempt: true },
    },
    async (request, reply) => {
      const token = request.query.token ?? request.body.token;
      if (!token) throw statusError('status_link_expired');
      await subscribers.unsubscribe(token);
      return reply.render(
        'Unsubscribed',
        <DonePage heading="Unsubscribed" text="This address receives no more status updates." />,
      );
    },
  );
}

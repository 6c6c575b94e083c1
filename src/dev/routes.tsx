import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '../platform/errors.js';
import { noInput, uuidParam } from '../platform/http/schemas.js';
import type { DevMailbox } from '../platform/mail/index.js';
import { MailboxPage, MessagePage } from './pages.js';

/** Dev mode only (the app does not register these otherwise, so they answer 404). */
export function devRoutes(app: FastifyInstance, mailbox: DevMailbox): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/dev/mailbox', { schema: noInput }, async (_request, reply) =>
    reply.render('Dev mailbox', <MailboxPage messages={await mailbox.list(100)} />),
  );

  r.get('/dev/mailbox/:id', { schema: { params: uuidParam } }, async (request, reply) => {
    const message = await mailbox.get(request.params.id);
    if (!message) throw notFound('That message');
    return reply.render(message.subject, <MessagePage message={message} />);
  });
}

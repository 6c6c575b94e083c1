import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorPage } from '../feature.js';
import { formBody, formFailure, validationErrors } from '../platform/http/forms.js';
import { noInput } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import type { OperatorConsole, SettingsInput } from './console.js';
import { operatorOf } from './http.js';
import { ConsoleHomePage, SettingsPage } from './pages.js';

type PageGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

const Setting = (maxLength: number) => Type.String({ maxLength });
const settingsBody = formBody({
  productName: Setting(200),
  securityContact: Setting(300),
  policyUrl: Setting(600),
  policyText: Setting(5000),
  preferredLanguages: Setting(200),
});
const doneQuery = Type.Object({ done: Type.Optional(Type.Literal('saved')) }, { additionalProperties: false });

const orNull = (v: string) => (v.trim() === '' ? null : v.trim());

export function operatorConsoleRoutes(
  app: FastifyInstance,
  deps: { console: OperatorConsole; requireOperatorPage: PageGuard; pages: readonly OperatorPage[] },
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { pages } = deps;

  r.get('/operator', { schema: noInput, preHandler: deps.requireOperatorPage }, async (request, reply) =>
    reply.render('Operator console', <ConsoleHomePage pages={pages} operator={operatorOf(request).name} />),
  );

  const settingsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { state?: FormState; status?: number; notice?: string } = {},
  ) =>
    reply
      .code(opts.status ?? 200)
      .render(
        'Product and security contact',
        <SettingsPage
          pages={pages}
          settings={await deps.console.settings()}
          csrf={request.csrfToken(reply)}
          state={opts.state}
          notice={opts.notice}
        />,
      );

  r.get(
    '/operator/settings',
    { schema: { querystring: doneQuery }, preHandler: deps.requireOperatorPage },
    async (request, reply) =>
      settingsPage(request, reply, { notice: request.query.done ? 'The settings are saved.' : undefined }),
  );

  r.post(
    '/operator/settings',
    { schema: { body: settingsBody }, attachValidation: true, preHandler: deps.requireOperatorPage },
    async (request, reply) => {
      const { productName, securityContact, policyUrl, policyText, preferredLanguages } = request.body;
      const values = { productName, securityContact, policyUrl, policyText, preferredLanguages };
      const errors = validationErrors(request);
      if (errors) return settingsPage(request, reply, { state: { values, errors }, status: 400 });
      const input: SettingsInput = {
        productName: values.productName,
        securityContact: orNull(values.securityContact),
        policyUrl: orNull(values.policyUrl),
        policyText: orNull(values.policyText),
        preferredLanguages: values.preferredLanguages.trim(),
      };
      try {
        await deps.console.saveSettings(input, operatorOf(request));
      } catch (err) {
        const f = formFailure(err, values);
        return settingsPage(request, reply, { state: f.state, status: f.status });
      }
      return reply.redirect('/operator/settings?done=saved', 303);
    },
  );
}

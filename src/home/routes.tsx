import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../config.js';
import { noInput } from '../platform/http/schemas.js';
import { HomePage } from './pages.js';

export function homeRoutes(app: FastifyInstance, config: Config): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/', { schema: noInput }, async (_request, reply) =>
    reply.render('Home', <HomePage baseUrl={config.baseUrl} dev={config.dev} embedded={!config.databaseUrl} />),
  );
}

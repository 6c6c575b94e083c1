import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../db/database.js';
import { migrationStatus, readMigrations } from '../db/migrator.js';

const Health = Type.Object({ status: Type.String() });
const Ready = Type.Object({ status: Type.String(), database: Type.String(), migrations: Type.String() });

export function healthRoutes(app: FastifyInstance, db: Database): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const files = readMigrations();

  r.get('/healthz', { schema: { response: { 200: Health } } }, async () => ({ status: 'ok' }));

  r.get('/readyz', { schema: { response: { 200: Ready, 503: Ready } } }, async (request, reply) => {
    let database = 'ok';
    let migrations = 'ok';
    try {
      await db.ping();
      const status = await migrationStatus(db.owner, files);
      if (status.problems.length > 0) migrations = 'changed';
      else if (status.pending.length > 0) migrations = 'pending';
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      database = 'unreachable';
      migrations = 'unknown';
    }
    const ready = database === 'ok' && migrations === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', database, migrations });
  });
}

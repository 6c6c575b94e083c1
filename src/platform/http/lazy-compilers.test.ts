import Fastify, { type FastifyServerOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyCompilers } from './lazy-compilers.js';

const AJV = { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } } as const;

function app(options: FastifyServerOptions = {}) {
  const server = Fastify({ ajv: AJV, ...options });
  const schema = {
    querystring: {
      type: 'object',
      properties: { n: { type: 'integer', maximum: 10 }, tag: { type: 'string', default: 'x' } },
      additionalProperties: false,
    },
    response: { 200: { type: 'object', properties: { n: { type: 'integer' }, tag: { type: 'string' } } } },
  };
  server.get('/q', { schema }, async (request) => ({ ...(request.query as object), secret: 'not serialized' }));
  return server;
}

describe('validators and serializers compiled on first use', () => {
  it('[R5] answer every input exactly as the compilers Fastify compiles up front', async () => {
    const eager = app();
    const lazy = app({ schemaController: lazyCompilers });
    for (const url of ['/q?n=7', '/q', '/q?n=11', '/q?n=abc', '/q?other=1', '/q?n=1&n=2', '/q?tag=%F0%9F%98%80']) {
      const [a, b] = await Promise.all([eager.inject(url), lazy.inject(url)]);
      expect({ url, status: b.statusCode, body: b.body }).toEqual({ url, status: a.statusCode, body: a.body });
    }
    expect((await lazy.inject('/q?n=7')).json()).toEqual({ n: 7, tag: 'x' });
    expect((await lazy.inject('/q?n=11')).statusCode).toBe(400);
    await Promise.all([eager.close(), lazy.close()]);
  });

  it('[R5] a route with a header schema does not start', async () => {
    const server = Fastify({ schemaController: lazyCompilers });
    server.get('/h', { schema: { headers: { type: 'object' } } }, async () => 'x');
    await expect(server.ready()).rejects.toThrow(/header schemas are not supported/);
  });
});

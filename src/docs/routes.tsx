import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { renderToString } from 'preact-render-to-string';
import { noInput } from '../platform/http/schemas.js';
import { contentSecurityPolicy, routePolicy } from '../platform/http/security-headers.js';

const scalarBundle = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@scalar/fastify-api-reference')),
  'js',
  'standalone.js',
);

/**
 * The API reference renders in the browser with Scalar, which injects its own styles: this page
 * alone allows inline styles (never inline scripts; both scripts load from this origin).
 */
const docsCsp = routePolicy(
  contentSecurityPolicy({
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
    'object-src': ["'none'"],
  }),
);

function DocsPage() {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Rampart API reference</title>
      </head>
      <body>
        <noscript>The interactive reference needs JavaScript. The OpenAPI document is at /docs/openapi.json.</noscript>
        <div id="app" />
        <script src="/docs/scalar.js" />
        <script src="/static/docs.js" />
      </body>
    </html>
  );
}

export function docsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  let bundle: Buffer | undefined;
  r.get('/docs/openapi.json', { schema: noInput }, async () => app.swagger());
  r.get('/docs', { schema: noInput, onRequest: docsCsp }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(`<!doctype html>${renderToString(<DocsPage />)}`),
  );
  r.get('/docs/scalar.js', { schema: noInput }, async (_request, reply) => {
    bundle ??= readFileSync(scalarBundle);
    return reply
      .type('application/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=3600')
      .send(bundle);
  });
}

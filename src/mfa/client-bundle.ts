import path from 'node:path';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { noInput } from '../platform/http/schemas.js';
import { projectRoot } from '../platform/paths.js';

export const PASSKEY_SCRIPT = 'passkeys.js';

let bundle: Promise<string> | undefined;

/** The passkey client, bundled once per process from its TypeScript source (no build artifact to go stale). */
function passkeyBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(projectRoot, 'src/mfa/client/passkeys.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
  }).then((result) => result.outputFiles[0]!.text);
  return bundle;
}

export function passkeyScriptRoute(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(`/static/${PASSKEY_SCRIPT}`, { schema: noInput }, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('Cache-Control', 'no-cache')
      .send(await passkeyBundle()),
  );
}

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { projectRoot } from '../paths.js';

/*
 * The initdb result of a fresh embedded database, made once by `npm run build` (scripts/build.mjs
 * writes it under the same name). A first start unpacks it in about a second instead of running
 * initdb in WebAssembly for several. Without it (no build yet, another PGlite version) a first start
 * runs initdb as before.
 */

function pgliteVersion(): string {
  const main = createRequire(import.meta.url).resolve('@electric-sql/pglite'); // <package>/dist/index.cjs
  return JSON.parse(readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')).version;
}

/** The template for the installed PGlite, or undefined when there is none. */
export function embeddedTemplate(): Blob | undefined {
  const file = path.join(projectRoot, 'dist', `pglite-${pgliteVersion()}-initdb.tar.gz`);
  return existsSync(file) ? new Blob([readFileSync(file)]) : undefined;
}

// `npm run build`: src/cli.ts and everything it imports, bundled into dist/cli.js for `npm start`.
// One file loads in a fraction of the time Node takes to resolve and link a few thousand modules.
// Packages that find files beside their own code at run time (WebAssembly, native addons, CSS,
// bundled assets) stay outside the bundle and load from node_modules as usual.
// Beside it goes the embedded database's initdb template (see src/platform/db/embedded-template.ts).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { build } from 'esbuild';

// The output file: dist/cli.js, or the one given (tests build into a folder of their own).
const outfile = process.argv[2] ?? 'dist/cli.js';

const EXTERNAL = [
  '@electric-sql/pglite', // postgres.wasm and its data files
  '@node-rs/argon2', // native addon
  'argon2', // native addon
  'esbuild', // native binary (the passkey client is bundled at run time)
  '@scalar/fastify-api-reference', // its JavaScript and CSS assets
  '@picocss/pico',
];

rmSync(path.dirname(outfile), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: EXTERNAL,
  sourcemap: true,
  legalComments: 'none',
  // Bundled CommonJS packages call require() for Node's own modules; ES modules have no require.
  banner: {
    js: [
      "import { createRequire as __rampartRequire } from 'node:module';",
      'const require = __rampartRequire(import.meta.url);',
    ].join(' '),
  },
  logLevel: 'warning',
});

// initdb in WebAssembly takes seconds; done once here, a first start unpacks its result instead.
// The file name holds PGlite's version: a template from another version is never used.
const { version } = JSON.parse(readFileSync('node_modules/@electric-sql/pglite/package.json', 'utf8'));
const fresh = await PGlite.create();
const template = Buffer.from(await (await fresh.dumpDataDir('gzip')).arrayBuffer());
await fresh.close();
writeFileSync(path.join(path.dirname(outfile), `pglite-${version}-initdb.tar.gz`), template);

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/platform/paths.js';

/*
 * R4 and invariant 1: SQL is built by Kysely from parameters everywhere but the database layer,
 * which alone may write SQL text (the tenancy statements, migrations, the embedded dialect).
 * Raw SQL elsewhere could reach around row-level security (set_config, RESET ROLE) or splice input.
 */
const RAW = [
  { what: "Kysely's sql template", pattern: /import\s*{[^}]*\bsql\b[^}]*}\s*from\s*'kysely'/ },
  { what: 'CompiledQuery (SQL text)', pattern: /\bCompiledQuery\b/ },
  { what: 'withoutPlugins()', pattern: /\.withoutPlugins\(/ },
  { what: 'a role or setting change', pattern: /\bset_config\b|\bset\s+(local\s+)?role\b|\breset\s+role\b/i },
  { what: 'the pg or PGlite client itself', pattern: /from\s*'(pg|@electric-sql\/pglite)'/ },
];

// The events bus holds its own connection for LISTEN/NOTIFY; it reads and writes no table.
const ALLOWED: Record<string, string[]> = { 'src/platform/events/bus.ts': ['the pg or PGlite client itself'] };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [full] : [];
  });
}

describe('raw SQL stays in the database layer (R4)', () => {
  it('[R4] no code outside src/platform/db writes SQL text or reaches the database client', () => {
    const src = path.join(projectRoot, 'src');
    const dbLayer = path.join(src, 'platform', 'db') + path.sep;
    const found = sourceFiles(src)
      .filter((file) => !file.startsWith(dbLayer))
      .flatMap((file) => {
        const name = path.relative(projectRoot, file).split(path.sep).join('/');
        return RAW.filter((r) => r.pattern.test(readFileSync(file, 'utf8')) && !ALLOWED[name]?.includes(r.what)).map(
          (r) => `${name}: ${r.what}`,
        );
      });
    expect(found).toEqual([]);
  });

  it('[R4] the check finds what it looks for', () => {
    const sample = "import { sql, type Kysely } from 'kysely';\nawait sql`reset role`.execute(tx);";
    expect(RAW.filter((r) => r.pattern.test(sample)).map((r) => r.what)).toEqual([
      "Kysely's sql template",
      'a role or setting change',
    ]);
  });
});

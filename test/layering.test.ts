import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { FEATURES } from '../src/features.js';
import { projectRoot } from '../src/platform/paths.js';

/*
 * Invariant: data and imports flow one way. platform/ knows no feature; a feature reaches another
 * only through that feature's index.ts, and only one listed before it in src/features.ts (so the
 * folders form no cycle); features see the app only through the contract (feature.ts, config.ts).
 */

const src = path.join(projectRoot, 'src');
const CONTRACT = new Set(['feature.ts', 'config.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : [];
  });
}

/** Every relative module a file imports or re-exports (static or dynamic), as a path under src/. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.relative(src, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts'));
}

interface Edge {
  from: string;
  to: string;
}

const edges: Edge[] = sourceFiles(src).flatMap((file) =>
  importsOf(file).map((to) => ({ from: path.relative(src, file), to })),
);
const folderOf = (p: string) => (p.includes('/') ? p.split('/')[0]! : '.');
const order = new Map(FEATURES.map((f, i) => [f.name, i]));

/** What the layering test itself must be able to fail on: the rules, as a function of one edge. */
function violation(e: Edge): string | undefined {
  const from = folderOf(e.from);
  const to = folderOf(e.to);
  if (from === to) return undefined;
  if (from === 'platform') return `platform imports ${to === '.' ? e.to : `the ${to} feature`}`;
  if (from === '.') return undefined; // the app: composes everything
  if (to === 'platform') return undefined;
  if (to === '.') return CONTRACT.has(e.to) ? undefined : `a feature imports the app's ${e.to}`;
  if (!order.has(to)) return `${to}/ is not a feature of src/features.ts`;
  if (e.to !== `${to}/index.ts`) return `reaches into ${to}'s internals (import ${to}/index.ts)`;
  if ((order.get(to) ?? 0) >= (order.get(from) ?? 0)) return `${from} depends on ${to}, which comes after it`;
  return undefined;
}

describe('layering (invariant: one-way data flow)', () => {
  it(
    '[R4] no import breaks the layering: platform knows no feature, features meet only through index.ts, in ' +
      'list order',
    () => {
      const broken = edges.flatMap((e) => {
        const why = violation(e);
        return why ? [`${e.from} -> ${e.to}: ${why}`] : [];
      });
      expect(broken).toEqual([]);
    },
  );

  it('[R4] the rules catch each kind of forbidden import', () => {
    expect(violation({ from: 'platform/http/errors.ts', to: 'orgs/index.ts' })).toMatch(/platform imports/);
    expect(violation({ from: 'platform/mail/index.ts', to: 'config.ts' })).toMatch(/platform imports/);
    expect(violation({ from: 'mfa/service.ts', to: 'sessions/service.ts' })).toMatch(/internals/);
    expect(violation({ from: 'sessions/service.ts', to: 'mfa/index.ts' })).toMatch(/comes after/);
    expect(violation({ from: 'orgs/routes.tsx', to: 'app.ts' })).toMatch(/app's app.ts/);
    expect(violation({ from: 'mfa/api.ts', to: 'sessions/index.ts' })).toBeUndefined();
  });

  it('[R4] every feature folder is in the feature list, and every listed feature has its folder', () => {
    const folders = readdirSync(src).filter((d) => d !== 'platform' && statSync(path.join(src, d)).isDirectory());
    expect(folders.sort()).toEqual(FEATURES.map((f) => f.name).sort());
    for (const f of FEATURES) expect(statSync(path.join(src, f.name, 'index.ts')).isFile()).toBe(true);
  });
});

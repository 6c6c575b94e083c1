import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEATURES } from '../src/features.js';
import { permissions } from '../src/orgs/permissions.js';
import { auditActions } from '../src/platform/audit/actions.js';
import { projectRoot } from '../src/platform/paths.js';
import { GENERATED_DOCS } from '../src/registry-docs.js';

const declaredBy = (pick: (f: (typeof FEATURES)[number]) => object | undefined) =>
  FEATURES.flatMap((f) => Object.keys(pick(f) ?? {}));

describe('registries: what features declare is what runs, and the docs say so', () => {
  it('[O1] the permission registry is exactly the permissions the feature modules list', () => {
    expect([...permissions()].sort()).toEqual(declaredBy((f) => f.permissions).sort());
  });

  it('[L1] the audit action registry is exactly the actions the feature modules list', () => {
    expect([...auditActions().keys()].sort()).toEqual(declaredBy((f) => f.auditActions).sort());
  });

  it('[L1] every action name is namespaced (area.verb_or_noun) and declared by one feature', () => {
    const names = declaredBy((f) => f.auditActions);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z_]+\.[a-z_]+$/);
  });

  it('[O1] every organization tab is guarded by a declared permission', () => {
    const all = new Set(permissions());
    for (const tab of FEATURES.flatMap((f) => f.orgTabs ?? [])) expect(all.has(tab.permission)).toBe(true);
  });

  it.each(Object.keys(GENERATED_DOCS))(
    '[L1] docs/%s is generated from the feature list and current (npm run docs)',
    (file) => {
      const make = GENERATED_DOCS[file]!;
      expect(readFileSync(path.join(projectRoot, 'docs', file), 'utf8')).toBe(make(FEATURES));
    },
  );
});

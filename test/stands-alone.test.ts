import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, makeTempDir, removeTempDirs, repoRoot, runNode } from './helpers/process.js';

afterAll(() => removeTempDirs());

/** The files a clone has: tracked ones, plus new ones not ignored (so the test also sees uncommitted work). */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return out.split('\0').filter((f) => f && existsSync(path.join(repoRoot, f)));
}

describe('a clone with nothing beside it', () => {
  it('[invariant 8] the tests that read published vectors (RFC 6238, RFC 9106, BLNS) pass in a copy of the ' +
    'repository with no folder beside it', {
    timeout: 180_000,
  }, async () => {
    const parent = makeTempDir('rampart-alone-');
    const copy = path.join(parent, 'rampart');
    for (const file of repositoryFiles()) {
      mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      cpSync(path.join(repoRoot, file), path.join(copy, file));
    }
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
    expect(existsSync(path.join(parent, 'shared'))).toBe(false);

    const files = [
      'src/platform/crypto/passwords.test.ts',
      'src/mfa/totp.test.ts',
      'src/platform/views/escaping.test.tsx',
    ];
    const res = await runNode(
      copy,
      ['node_modules/vitest/vitest.mjs', 'run', ...files],
      childEnv({ CI: 'true', NO_COLOR: '1' }),
      150_000,
    );
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(res.stdout).toMatch(/Test Files +3 passed/);
  });
});

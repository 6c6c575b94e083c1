import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../platform/clock.js';
import { dependencyAuditCheck } from './dependency-audit-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-audit-record-'));
const files = { record: path.join(dir, 'dependency-audit.json'), lockfile: path.join(dir, 'package-lock.json') };
writeFileSync(files.lockfile, '{"lockfileVersion":3}');
const lockfileSha256 = createHash('sha256').update('{"lockfileVersion":3}').digest('hex');
const clock = fixedClock('2026-12-03T12:00:00Z');
const check = dependencyAuditCheck(clock, files);
const probe = { request: () => Promise.reject(new Error('not used')) };
const recorded = async (entry: object) => {
  writeFileSync(files.record, JSON.stringify(entry));
  return check.run(probe);
};

describe('the dependency audit check (X4)', () => {
  it('[X4] no record is not configured; a fresh clean audit of the installed lockfile passes', async () => {
    expect((await check.run(probe)).status).toBe('not_configured');
    const ok = await recorded({ ranAt: '2026-12-02T12:00:00Z', outcome: 'passed', lockfileSha256, counts: { low: 2 } });
    expect(ok).toEqual({ status: 'passing', detail: expect.stringContaining('(2 low)') });
  });

  it('[X4] a stale audit, one with high advisories, or one of another lockfile fails; not run says so', async () => {
    const base = { outcome: 'passed', lockfileSha256 };
    expect(await recorded({ ...base, ranAt: '2026-11-20T12:00:00Z' })).toEqual({
      status: 'failing',
      detail: expect.stringContaining('13 days ago'),
    });
    const found = await recorded({ ...base, ranAt: '2026-12-03T00:00:00Z', outcome: 'failed', counts: { high: 1 } });
    expect(found).toEqual({ status: 'failing', detail: expect.stringContaining('1 high') });
    const other = await recorded({ ...base, ranAt: '2026-12-03T00:00:00Z', lockfileSha256: '0'.repeat(64) });
    expect(other.status).toBe('failing');
    const notRun = await recorded({ ...base, ranAt: '2026-12-03T00:00:00Z', outcome: 'not_run', reason: 'HTTP 405' });
    expect(notRun).toEqual({ status: 'not_configured', detail: expect.stringMatching(/^not run .*HTTP 405/) });
    writeFileSync(files.record, '{not json');
    await expect(check.run(probe)).rejects.toThrow(/cannot be read/);
  });
});

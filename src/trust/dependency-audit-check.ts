import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { TrustCheck } from '../feature.js';
import { projectRoot } from '../platform/paths.js';

/*
 * X4, read from this installation: `npm run audit` (scripts/audit.mjs) records what it found in
 * .rampart/dependency-audit.json, with the SHA-256 of the package-lock.json it audited. The check
 * holds that record against the lockfile installed here and its age.
 */

export const AUDIT_RECORD = path.join(projectRoot, '.rampart', 'dependency-audit.json');
export const LOCKFILE = path.join(projectRoot, 'package-lock.json');
/** An audit older than this says nothing about advisories published since. */
export const AUDIT_MAX_AGE_DAYS = 7;
const DAY = 24 * 60 * 60 * 1000;

interface AuditRecord {
  ranAt: string;
  outcome: 'passed' | 'failed' | 'not_run';
  lockfileSha256: string;
  counts?: Record<string, number>;
  reason?: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readRecord(file: string): Promise<AuditRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as AuditRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`the audit record ${file} cannot be read: ${(err as Error).message}`);
  }
}

export function dependencyAuditCheck(clock: Clock, files = { record: AUDIT_RECORD, lockfile: LOCKFILE }): TrustCheck {
  return {
    control: 'X4',
    id: 'dependency-audit',
    title: `The installed dependencies were audited for known vulnerabilities in the last ${AUDIT_MAX_AGE_DAYS} days`,
    async run() {
      const record = await readRecord(files.record);
      if (!record)
        return {
          status: 'not_configured',
          detail: 'No dependency audit on record: run `npm run audit` on this installation, daily (cron or CI).',
        };
      const ranAt = new Date(record.ranAt);
      if (Number.isNaN(ranAt.getTime())) return { status: 'failing', detail: 'the audit record has no valid time' };
      const installed = sha256(await readFile(files.lockfile));
      if (record.lockfileSha256 !== installed)
        return {
          status: 'failing',
          detail: 'the last audit was of other dependencies than the installed package-lock.json: run it again',
        };
      if (record.outcome === 'not_run')
        return {
          status: 'not_configured',
          detail: `not run on ${record.ranAt}: ${record.reason ?? 'the advisory service was unreachable'}`,
        };
      const days = Math.floor((clock.now().getTime() - ranAt.getTime()) / DAY);
      if (days > AUDIT_MAX_AGE_DAYS)
        return { status: 'failing', detail: `the last audit ran ${days} days ago (${record.ranAt})` };
      const counts = Object.entries(record.counts ?? {})
        .filter(([, n]) => n > 0)
        .map(([level, n]) => `${n} ${level}`)
        .join(', ');
      if (record.outcome !== 'passed')
        return { status: 'failing', detail: `the audit of ${record.ranAt} found ${counts || 'advisories'}` };
      const lower = counts ? ` (${counts})` : '';
      return {
        status: 'passing',
        detail: `audited ${record.ranAt} against the installed lockfile: no high or critical advisory${lower}`,
      };
    },
  };
}

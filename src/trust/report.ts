import type { TrustCheck } from '../feature.js';
import type { TrustStatus } from '../platform/db/tables.js';
import type { ControlGroup } from './catalogue.js';
import type { StoredResult } from './repository.js';

/*
 * The trust report: every control of the catalogue with the status its checks give it on this
 * instance. Nothing in it is written by hand: a control no check names is "not built".
 */

export type ControlStatus = TrustStatus | 'not_built';

export interface CheckEntry {
  id: string;
  title: string;
  /** `pending`: the check exists but has not run since this instance learnt of it. */
  status: TrustStatus | 'pending';
  detail: string;
  checkedAt: string | null;
  changedAt: string | null;
}

export interface ControlEntry {
  id: string;
  title: string;
  text: string;
  status: ControlStatus | 'pending';
  checks: CheckEntry[];
}

export interface TrustReport {
  format: 'rampart-trust-report/1';
  instance: string;
  generatedAt: string;
  product: { name: string; securityContact: string | null; policyUrl: string | null };
  summary: Record<ControlStatus | 'pending', number> & { controls: number };
  groups: { letter: string; name: string; controls: ControlEntry[] }[];
}

/** Failing if any check fails, else not configured if any is, else passing (pending until all ran). */
export function controlStatus(checks: readonly Pick<CheckEntry, 'status'>[]): ControlEntry['status'] {
  if (checks.length === 0) return 'not_built';
  if (checks.some((c) => c.status === 'failing')) return 'failing';
  if (checks.some((c) => c.status === 'pending')) return 'pending';
  if (checks.some((c) => c.status === 'not_configured')) return 'not_configured';
  return 'passing';
}

export function buildReport(opts: {
  catalogue: readonly ControlGroup[];
  checks: readonly TrustCheck[];
  results: readonly StoredResult[];
  instance: string;
  generatedAt: Date;
  product: TrustReport['product'];
}): TrustReport {
  const stored = new Map(opts.results.map((r) => [r.checkId, r]));
  const summary: TrustReport['summary'] = {
    controls: 0,
    passing: 0,
    failing: 0,
    not_configured: 0,
    not_built: 0,
    pending: 0,
  };
  const groups = opts.catalogue.map((g) => ({
    letter: g.letter,
    name: g.name,
    controls: g.controls.map((c): ControlEntry => {
      const checks = opts.checks
        .filter((k) => k.control === c.id)
        .map((k): CheckEntry => {
          const r = stored.get(k.id);
          return r
            ? {
                id: k.id,
                title: k.title,
                status: r.status,
                detail: r.detail,
                checkedAt: r.checkedAt.toISOString(),
                changedAt: r.changedAt.toISOString(),
              }
            : { id: k.id, title: k.title, status: 'pending', detail: 'not run yet', checkedAt: null, changedAt: null };
        });
      const status = controlStatus(checks);
      summary.controls++;
      summary[status]++;
      return { id: c.id, title: c.title, text: c.text, status, checks };
    }),
  }));
  return {
    format: 'rampart-trust-report/1',
    instance: opts.instance,
    generatedAt: opts.generatedAt.toISOString(),
    product: opts.product,
    summary,
    groups,
  };
}

/** Checks naming a control the catalogue does not have: shown to the operator, never hidden. */
export function strayChecks(catalogue: readonly ControlGroup[], checks: readonly TrustCheck[]): TrustCheck[] {
  const ids = new Set(catalogue.flatMap((g) => g.controls.map((c) => c.id)));
  return checks.filter((c) => !ids.has(c.control));
}

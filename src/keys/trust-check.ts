import type { TrustCheck } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import type { Database } from '../platform/db/database.js';
import { countVersions, recordsUnder, type VersionCounts } from '../platform/keys/rewrap.js';
import type { SealedValues } from '../platform/keys/sealed.js';
import { liveInstances, readDecision, RELOAD_INTERVAL_MS } from '../platform/keys/state.js';

/** `v1: 3, v2: 17` over every value. */
export function totalsPerVersion(counts: VersionCounts): string {
  const totals: Record<string, number> = {};
  for (const perVersion of Object.values(counts))
    for (const [v, n] of Object.entries(perVersion)) totals[v] = (totals[v] ?? 0) + n;
  const parts = Object.entries(totals).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  return parts.length ? parts.map(([v, n]) => `${v}: ${n}`).join(', ') : 'no sealed records yet';
}

/**
 * D3: nothing is left under a retired master key version, and the live instances agree on the
 * current version (a disagreement lasting past the reload interval means one cannot read the key file).
 */
export function rotationCheck(deps: { db: Database; values: readonly SealedValues[]; clock: Clock }): TrustCheck {
  return {
    control: 'D3',
    id: 'key-rotation',
    title: 'No record is sealed under a retired master key, and every instance seals under the current version',
    async run() {
      const now = deps.clock.now();
      const { decision, instances } = await deps.db.withSystem(async (tx) => ({
        decision: await readDecision(tx),
        instances: await liveInstances(tx, now),
      }));
      const counts = await countVersions(deps.db, deps.values);
      const perVersion = totalsPerVersion(counts);
      const stranded = decision.retired.flatMap((v) =>
        Object.entries(recordsUnder(counts, v)).map(([name, n]) => `${n} ${name} under retired v${v}`),
      );
      if (stranded.length > 0) return { status: 'failing', detail: `${stranded.join('; ')} (${perVersion})` };
      const settled = !decision.updatedAt || now.getTime() - decision.updatedAt.getTime() > RELOAD_INTERVAL_MS;
      const off = instances.filter((i) => i.current !== decision.current);
      if (settled && off.length > 0) {
        return {
          status: 'failing',
          detail:
            `${off.length} of ${instances.length} live instance(s) seal under another version than the current ` +
            `v${decision.current}: ${off.map((i) => `${i.instanceId} uses v${i.current}`).join('; ')} (${perVersion})`,
        };
      }
      const retired = decision.retired.length ? `; retired ${decision.retired.map((v) => `v${v}`).join(', ')}` : '';
      return {
        status: 'passing',
        detail: `current v${decision.current} on ${instances.length} live instance(s)${retired}; ${perVersion}`,
      };
    },
  };
}

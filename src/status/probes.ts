import type { Logger } from 'pino';
import type { Operator } from '../operator/index.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import { operatorActor } from '../operator/index.js';
import { statusError } from './errors.js';
import type { IncidentsService } from './incidents-port.js';
import { checkProbe, type ProbeCheckOptions, probeTargetProblem } from './probe-check.js';
import * as repo from './repository.js';
import type { StatusService } from './service.js';
import { type ComponentState, worst } from './states.js';

export interface Probe {
  id: string;
  componentId: string;
  url: string;
  expectedStatus: number;
  failures: number;
  lastCheckedAt: Date | null;
  lastOk: boolean | null;
  lastDetail: string | null;
  draftIncidentId: string | null;
}

const fromRow = (r: repo.ProbeRow): Probe => ({
  id: r.id,
  componentId: r.component_id,
  url: r.url,
  expectedStatus: r.expected_status,
  failures: r.failures,
  lastCheckedAt: r.last_checked_at,
  lastOk: r.last_ok,
  lastDetail: r.last_detail,
  draftIncidentId: r.draft_incident_id,
});

/** A probe checked longer ago than this no longer counts its component's minutes as observed. */
const FRESH_MS = 3 * 60_000;
const CLAIM_MS = 50_000;
const KEEP_RESULTS_MS = 7 * 86_400_000;

export type ProbeService = ReturnType<typeof createProbeService>;

export function createProbeService(deps: {
  db: Tenancy;
  clock: Clock;
  status: StatusService;
  incidents: IncidentsService;
  logger: Logger;
  check: Omit<ProbeCheckOptions, 'dev'> & { dev: boolean };
  /** Consecutive failures that open a draft incident. */
  failuresForDraft: number;
}) {
  const { db, clock, status, incidents } = deps;

  async function runOne(probe: repo.ProbeRow, names: Map<string, string>): Promise<void> {
    const outcome = await checkProbe(probe.url, probe.expected_status, deps.check);
    const failures = await db.withSystem((tx) => repo.recordProbe(tx, probe, { at: clock.now(), ...outcome }));
    if (outcome.ok || failures < deps.failuresForDraft || probe.draft_incident_id) return;
    const name = names.get(probe.component_id) ?? probe.component_id;
    const draft = await incidents.openDraftFromProbe({
      component: probe.component_id,
      title: `${name}: probe failing`,
      detail: `${probe.url} failed ${failures} checks in a row; last: ${outcome.detail}`,
    });
    await db.withSystem((tx) => repo.setProbeDraft(tx, probe.id, draft.id));
  }

  return {
    list: async () => (await db.withSystem((tx) => repo.listProbes(tx))).map(fromRow),

    recent: (probeId: string) => db.withSystem((tx) => repo.probeResults(tx, probeId, 10)),

    async add(input: { componentId: string; url: string; expectedStatus: number }, by: Operator): Promise<Probe> {
      const problem = probeTargetProblem(input.url, deps.check.dev);
      const fields = [];
      if (problem || input.url.length > 500) fields.push({ field: 'url', message: problem ?? 'Keep it under 500.' });
      if (!Number.isInteger(input.expectedStatus) || input.expectedStatus < 100 || input.expectedStatus > 599)
        fields.push({ field: 'expectedStatus', message: 'Give an HTTP status from 100 to 599.' });
      if (fields.length) throw statusError('status_probe_invalid', { fields });
      return db.withSystem(async (tx) => {
        if (!(await repo.component(tx, input.componentId))) throw statusError('status_component_not_found');
        const row = await repo.insertProbe(tx, {
          component_id: input.componentId,
          url: new URL(input.url).href,
          expected_status: input.expectedStatus,
          created_at: clock.now(),
        });
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'status.probe_added',
            actor: operatorActor(by),
            target: `status_component:${input.componentId}`,
            payload: { probe: row.id, url: row.url, expectedStatus: row.expected_status },
          },
          clock,
        );
        return fromRow(row);
      });
    },

    async remove(id: string, by: Operator): Promise<void> {
      await db.withSystem(async (tx) => {
        const row = await repo.deleteProbe(tx, id);
        if (!row) throw statusError('status_probe_not_found');
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'status.probe_removed',
            actor: operatorActor(by),
            target: `status_component:${row.component_id}`,
            payload: { probe: id, url: row.url },
          },
          clock,
        );
      });
    },

    /**
     * The 'status.probes' job: checks the probes no other instance claimed, opens a draft incident
     * after N failures in a row, then records this minute of every component for the uptime bars.
     */
    async run(): Promise<void> {
      const now = clock.now();
      const due = await db.withSystem((tx) => repo.claimDueProbes(tx, now, new Date(now.getTime() + CLAIM_MS)));
      const { components } = await status.shown();
      const names = new Map(components.map((c) => [c.id, c.name]));
      await Promise.all(
        due.map((p) =>
          runOne(p, names).catch((err) => deps.logger.error({ err, probe: p.id }, 'status probe failed to record')),
        ),
      );
      const probes = await db.withSystem((tx) => repo.listProbes(tx));
      const states = new Map<string, ComponentState>();
      const at = clock.now().getTime();
      for (const c of components) {
        if (c.createdAt.getTime() > at) continue;
        const own = probes.filter((p) => p.component_id === c.id);
        if (own.length === 0) {
          states.set(c.id, c.state);
          continue;
        }
        const fresh = own.filter((p) => p.last_checked_at && at - p.last_checked_at.getTime() <= FRESH_MS);
        if (fresh.length === 0) continue; // not observed this minute
        const failing = fresh.some((p) => p.last_ok === false);
        // Announced maintenance stays maintenance: a probe failing in it is not downtime.
        states.set(c.id, failing && c.state !== 'maintenance' ? worst([c.state, 'major_outage']) : c.state);
      }
      await status.recordMinutes(states);
      await db.withSystem((tx) => repo.pruneProbeResults(tx, new Date(at - KEEP_RESULTS_MS)));
    },
  };
}

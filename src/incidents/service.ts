import { type Operator, operatorActor } from '../operator/index.js';
import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { AfterCommit, Tenancy, Tx } from '../platform/db/database.js';
import type { FieldError } from '../platform/errors.js';
import { incidentError } from './errors.js';
import type { Impact, Phase, PublicIncident, Severity } from './model.js';
import {
  DEFAULT_TARGETS,
  IMPACTS,
  type IncidentRow,
  longOutage,
  PHASES,
  respondBy,
  SEVERITIES,
  type Targets,
  toPublic,
  type UpdateRow,
} from './model.js';
import * as repo from './repository.js';

/* Incidents (X1) and what of them the status page shows (X2): declaring, phases, the timeline, reports. */

export interface BreachInput {
  awareAt: Date;
  regulatorRequired: boolean;
  facts: string;
  effects: string;
  remedialAction: string;
}

export interface DeclareInput {
  title: string;
  kind: 'incident' | 'maintenance';
  severity: Severity;
  impact: Impact;
  components: string[];
  public: boolean;
  /** When the impact began (incidents; default now). */
  startedAt?: Date;
  scheduledStart?: Date;
  scheduledEnd?: Date;
  /** A first timeline entry: it is the first response. */
  firstUpdate?: { message: string; public: boolean };
  breach?: BreachInput;
}

export type Component = { id: string; name: string };
export type ComponentSource = () => Promise<Component[]>;

const COMPONENT_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const EARLIEST = Date.UTC(2000, 0, 1);
const MAX_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;
/** A minute of clock difference between the operator's browser and this server is not the future. */
const SKEW_MS = 60_000;

export interface Deps {
  db: Tenancy;
  clock: Clock;
  onListenerError(err: unknown): void;
}

export type IncidentCore = ReturnType<typeof createIncidentCore>;

export function createIncidentCore(deps: Deps) {
  const { db, clock } = deps;
  const listeners: ((incident: PublicIncident) => void)[] = [];
  let componentSource: ComponentSource | undefined;

  const audit = (tx: Tx, action: AuditAction, actor: string, id: string, payload: Record<string, unknown>) =>
    appendAudit(tx, { stream: systemStream, action, actor, target: `incident:${id}`, payload }, clock);

  const readTargets = async (tx: Tx): Promise<Targets> => {
    const row = await repo.targets(tx);
    return row
      ? { critical: row.critical_minutes, high: row.high_minutes, medium: row.medium_minutes, low: row.low_minutes }
      : DEFAULT_TARGETS;
  };

  const components = async (): Promise<Component[] | undefined> => (componentSource ? componentSource() : undefined);

  /** After commit: the status page hears of a public incident that was published or updated. */
  const announce = async (tx: Tx, afterCommit: AfterCommit, row: IncidentRow) => {
    if (!row.public || row.draft || listeners.length === 0) return;
    const incident = toPublic(row, await repo.updatesOf(tx, [row.id]), clock.now());
    afterCommit(() => {
      for (const listener of listeners) {
        try {
          listener(incident);
        } catch (err) {
          deps.onListenerError(err);
        }
      }
    });
  };

  /** The incident, locked for the rest of the transaction; refused when closed. */
  const open = async (tx: Tx, id: string): Promise<IncidentRow> => {
    const row = await repo.lockIncident(tx, id);
    if (!row) throw incidentError('incident_not_found');
    if (row.closed_at) throw incidentError('incident_closed');
    return row;
  };

  async function problems(input: DeclareInput, now: Date): Promise<FieldError[]> {
    const out: FieldError[] = [];
    const future = (d: Date) => d.getTime() > now.getTime() + SKEW_MS;
    const bad = (d: Date | undefined) => d !== undefined && (Number.isNaN(d.getTime()) || d.getTime() < EARLIEST);
    if (!SEVERITIES.includes(input.severity)) out.push({ field: 'severity', message: 'Choose a severity.' });
    if (!IMPACTS.includes(input.impact)) out.push({ field: 'impact', message: 'Choose an impact.' });
    if (input.kind === 'maintenance') {
      if (input.impact !== 'maintenance')
        out.push({ field: 'impact', message: 'Scheduled maintenance has the impact "maintenance".' });
      const { scheduledStart: s, scheduledEnd: e } = input;
      if (!s || bad(s)) out.push({ field: 'scheduledStart', message: 'Give when the maintenance starts (UTC).' });
      if (!e || bad(e)) out.push({ field: 'scheduledEnd', message: 'Give when the maintenance ends (UTC).' });
      else if (s && !bad(s) && (e <= s || e.getTime() - s.getTime() > MAX_WINDOW_MS))
        out.push({ field: 'scheduledEnd', message: 'The window ends after it starts, within 30 days.' });
    } else {
      if (input.impact === 'maintenance')
        out.push({ field: 'impact', message: 'An incident is degraded service, a partial or a major outage.' });
      if (bad(input.startedAt) || (input.startedAt && future(input.startedAt)))
        out.push({ field: 'startedAt', message: 'Give when the impact began: a time (UTC) not in the future.' });
    }
    const known = await components();
    const ids = new Set(known?.map((c) => c.id));
    if (input.components.length > 50) out.push({ field: 'components', message: 'Choose at most 50 components.' });
    else if (input.components.some((c) => (known ? !ids.has(c) : !COMPONENT_ID.test(c))))
      out.push({ field: 'components', message: 'Choose components of the status page.' });
    if (input.public && input.kind === 'incident' && input.components.length === 0)
      out.push({ field: 'components', message: 'A public incident names the components it affects.' });
    if (input.breach) {
      const a = input.breach.awareAt;
      if (bad(a) || future(a))
        out.push({
          field: 'awareAt',
          message: 'Give when you became aware of the breach: a time (UTC) not in the future.',
        });
    }
    return out;
  }

  const declare = async (input: DeclareInput, by: Operator): Promise<IncidentRow> => {
    const now = clock.now();
    const fields = await problems(input, now);
    if (fields.length > 0) throw incidentError('incident_invalid', { fields });
    const actor = operatorActor(by);
    return db.withSystem(async (tx, afterCommit) => {
      const targets = await readTargets(tx);
      const maintenance = input.kind === 'maintenance';
      const b = input.breach;
      let row = await repo.insertIncident(tx, {
        title: input.title,
        kind: input.kind,
        severity: input.severity,
        public: input.public,
        impact: input.impact,
        components: [...new Set(input.components)],
        phase: 'identify',
        identify_at: now,
        declared_at: now,
        respond_by: respondBy(now, input.severity, targets),
        started_at: maintenance ? input.scheduledStart! : (input.startedAt ?? now),
        scheduled_start: maintenance ? input.scheduledStart : null,
        scheduled_end: maintenance ? input.scheduledEnd : null,
        breach: b !== undefined,
        aware_at: b?.awareAt ?? null,
        regulator_required: b?.regulatorRequired ?? false,
        facts: b?.facts || null,
        effects: b?.effects || null,
        remedial_action: b?.remedialAction || null,
        created_by: actor,
      });
      await audit(tx, 'incident.declared', actor, row.id, {
        title: row.title,
        kind: row.kind,
        severity: row.severity,
        public: row.public,
        impact: row.impact,
        components: row.components,
        breach: row.breach,
        awareAt: row.aware_at?.toISOString() ?? null,
        regulatorRequired: row.regulator_required,
      });
      if (input.firstUpdate) row = await addUpdateIn(tx, row, input.firstUpdate, by);
      await announce(tx, afterCommit, row);
      return row;
    });
  };

  async function addUpdateIn(
    tx: Tx,
    row: IncidentRow,
    update: { message: string; public: boolean },
    by: Operator,
    phase: Phase = row.phase,
  ): Promise<IncidentRow> {
    const now = clock.now();
    if (update.public && (row.draft || !row.public)) throw incidentError('incident_draft');
    const u = await repo.insertUpdate(tx, {
      incident_id: row.id,
      at: now,
      phase,
      message: update.message,
      public: update.public,
      author: by.name,
    });
    await audit(tx, 'incident.updated', operatorActor(by), row.id, {
      update: u.id,
      phase,
      public: update.public,
      message: update.message,
    });
    return row.responded_at ? row : repo.updateIncident(tx, row.id, { responded_at: now });
  }

  return {
    now: () => clock.now(),
    targets: () => db.withSystem(readTargets),

    async saveTargets(targets: Targets, by: Operator): Promise<void> {
      if (SEVERITIES.some((s) => !Number.isInteger(targets[s]) || targets[s] < 0 || targets[s] > 43200))
        throw incidentError('incident_targets_invalid');
      await db.withSystem(async (tx) => {
        await repo.saveTargets(tx, {
          critical_minutes: targets.critical,
          high_minutes: targets.high,
          medium_minutes: targets.medium,
          low_minutes: targets.low,
          updated_at: clock.now(),
        });
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'incident.targets_changed',
            actor: operatorActor(by),
            target: 'incident_targets',
            payload: { ...targets },
          },
          clock,
        );
      });
    },

    components,
    useComponents(source: ComponentSource) {
      componentSource = source;
    },
    onPublicUpdate(listener: (incident: PublicIncident) => void) {
      listeners.push(listener);
    },

    declare,

    list: () => db.withSystem((tx) => repo.listIncidents(tx, 200)),

    async detail(id: string) {
      return db.withSystem(async (tx) => {
        const row = await repo.incident(tx, id);
        if (!row) return undefined;
        const [updates, orgs] = await Promise.all([repo.updatesOf(tx, [id]), repo.affectedOrgs(tx, [id])]);
        return { row, updates, orgs };
      });
    },

    async addUpdate(id: string, update: { message: string; public: boolean }, by: Operator): Promise<void> {
      await db.withSystem(async (tx, afterCommit) => {
        const row = await addUpdateIn(tx, await open(tx, id), update, by);
        if (update.public) await announce(tx, afterCommit, row);
      });
    },

    /** Forward only; closing needs the resolution time and, after a long outage, the public report. */
    async advance(id: string, to: Phase, update: { message: string; public: boolean } | undefined, by: Operator) {
      await db.withSystem(async (tx, afterCommit) => {
        let row = await open(tx, id);
        if (!PHASES.includes(to) || PHASES.indexOf(to) <= PHASES.indexOf(row.phase))
          throw incidentError('incident_phase_invalid');
        if (to === 'closed' && !row.draft) {
          if (!row.resolved_at) throw incidentError('incident_not_resolved');
          if (row.public && longOutage(row, clock.now()) && !row.report_published_at)
            throw incidentError('incident_report_required');
        }
        if (row.draft && to !== 'closed') throw incidentError('incident_draft');
        const now = clock.now();
        row = await repo.updateIncident(tx, id, {
          phase: to,
          [`${to}_at`]: now,
          ...(to === 'closed' ? { closed_at: now } : {}),
          ...(row.responded_at ? {} : { responded_at: now }),
        });
        await audit(tx, 'incident.phase_changed', operatorActor(by), id, { phase: to });
        if (update) row = await addUpdateIn(tx, row, update, by, to);
        await announce(tx, afterCommit, row);
      });
    },

    async confirm(id: string, by: Operator): Promise<void> {
      await db.withSystem(async (tx, afterCommit) => {
        const row = await open(tx, id);
        if (!row.draft) throw incidentError('incident_phase_invalid', { message: 'This incident is not a draft.' });
        const now = clock.now();
        const targets = await readTargets(tx);
        const confirmed = await repo.updateIncident(tx, id, {
          draft: false,
          public: true,
          probe_component: null,
          declared_at: now,
          respond_by: respondBy(now, row.severity, targets),
          responded_at: now,
        });
        await audit(tx, 'incident.confirmed', operatorActor(by), id, { public: true });
        await announce(tx, afterCommit, confirmed);
      });
    },

    async resolve(id: string, at: Date, by: Operator): Promise<void> {
      await db.withSystem(async (tx, afterCommit) => {
        const row = await open(tx, id);
        if (row.draft) throw incidentError('incident_draft');
        const now = clock.now();
        if (Number.isNaN(at.getTime()) || at < row.started_at || at.getTime() > now.getTime() + SKEW_MS)
          throw incidentError('incident_invalid', {
            fields: [{ field: 'resolvedAt', message: 'Give a time after the impact began and not in the future.' }],
          });
        const resolved = await repo.updateIncident(tx, id, { resolved_at: at });
        await audit(tx, 'incident.resolved', operatorActor(by), id, { resolvedAt: at.toISOString() });
        await announce(tx, afterCommit, resolved);
      });
    },

    async publishReport(id: string, body: string, by: Operator): Promise<void> {
      await db.withSystem(async (tx, afterCommit) => {
        const row = await open(tx, id);
        if (row.draft || !row.public) throw incidentError('incident_draft');
        if (!row.resolved_at) throw incidentError('incident_not_resolved');
        const published = await repo.updateIncident(tx, id, {
          report_body: body,
          report_published_at: row.report_published_at ?? clock.now(),
        });
        await audit(tx, 'incident.report_published', operatorActor(by), id, {
          revised: row.report_published_at !== null,
          length: body.length,
        });
        await announce(tx, afterCommit, published);
      });
    },

    async openDraftFromProbe(input: { component: string; title: string; detail: string }) {
      const component = input.component.slice(0, 100);
      const title = input.title.trim().slice(0, 200) || `${component} is failing`;
      const detail = input.detail.trim().slice(0, 5000) || 'The probe failed.';
      return db.withSystem(async (tx) => {
        const now = clock.now();
        const inserted = await repo.insertProbeDraft(tx, {
          title,
          kind: 'incident',
          severity: 'high',
          draft: true,
          public: false,
          impact: 'major_outage',
          components: [component],
          probe_component: component,
          phase: 'identify',
          identify_at: now,
          declared_at: now,
          started_at: now,
          created_by: 'system:probe',
        });
        if (!inserted) {
          const existing = await repo.openProbeDraft(tx, component);
          if (existing) return { id: existing.id, created: false };
          throw new Error('a probe draft was neither inserted nor found');
        }
        await repo.insertUpdate(tx, {
          incident_id: inserted.id,
          at: now,
          phase: 'identify',
          message: detail,
          public: false,
          author: 'probe',
        });
        await audit(tx, 'incident.draft_opened', 'system:probe', inserted.id, { component, title, detail });
        return { id: inserted.id, created: true };
      });
    },

    async publicIncidents(opts: { since: Date }): Promise<PublicIncident[]> {
      const now = clock.now();
      return db.withSystem(async (tx) => {
        const rows = await repo.publicSince(tx, opts.since, now);
        const updates = await repo.updatesOf(
          tx,
          rows.map((r) => r.id),
        );
        const of = (id: string): UpdateRow[] => updates.filter((u) => u.incident_id === id);
        return rows.map((r) => toPublic(r, of(r.id), now));
      });
    },

    async publicIncident(id: string): Promise<PublicIncident | undefined> {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
      return db.withSystem(async (tx) => {
        const row = await repo.incident(tx, id);
        if (!row?.public || row.draft) return undefined;
        return toPublic(row, await repo.updatesOf(tx, [id]), clock.now());
      });
    },

    audit,
    open,
  };
}

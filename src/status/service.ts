import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { FieldError } from '../platform/errors.js';
import { type Operator, operatorActor } from '../operator/index.js';
import { statusError } from './errors.js';
import type { IncidentsService, PublicIncident } from './incidents-port.js';
import * as repo from './repository.js';
import { type ComponentState, impactState, isState, worst } from './states.js';
import { type DayCounts, dayKey, EMPTY_DAY, UPTIME_DAYS, type UptimeDay, uptimeDays } from './uptime.js';

export interface StatusComponent {
  id: string;
  name: string;
  description: string;
  position: number;
  operatorState: ComponentState;
  createdAt: Date;
  updatedAt: Date;
}

/** A component as the page shows it: its state, with the open incidents that make it so. */
export interface ShownComponent extends StatusComponent {
  state: ComponentState;
  incidents: string[];
}

export interface ComponentInput {
  id: string;
  name: string;
  description: string;
  state: string;
}

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const CONTROL = /\p{Cc}/u;
const HISTORY_MS = UPTIME_DAYS * 86_400_000;

const fromRow = (r: repo.ComponentRow): StatusComponent => ({
  id: r.id,
  name: r.name,
  description: r.description,
  position: r.position,
  operatorState: r.operator_state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function componentProblems(input: Partial<ComponentInput>, opts: { withId: boolean }): FieldError[] {
  const problems: FieldError[] = [];
  if (opts.withId && !ID.test(input.id ?? ''))
    problems.push({
      field: 'id',
      message: 'Use 1 to 40 lowercase letters, digits and hyphens, starting with a letter or digit.',
    });
  if (input.name !== undefined) {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 80 || CONTROL.test(name))
      problems.push({ field: 'name', message: 'Give a name of 1 to 80 characters.' });
  }
  if (input.description !== undefined && (input.description.length > 500 || CONTROL.test(input.description)))
    problems.push({ field: 'description', message: 'Keep the description to one line under 500 characters.' });
  if (input.state !== undefined && !isState(input.state))
    problems.push({ field: 'state', message: 'Choose one of the listed states.' });
  return problems;
}

/** Whether an incident weighs on its components at `now` (maintenance only once its window opened). */
export function isActive(incident: PublicIncident, now: Date): boolean {
  if (incident.resolvedAt !== null || incident.phase === 'closed') return false;
  if (incident.kind === 'maintenance' && incident.scheduledStart && incident.scheduledStart > now) return false;
  return true;
}

/** The shown state of each component: the worst of the operator's and the open public incidents' impacts. */
export function shownStates(
  components: readonly StatusComponent[],
  incidents: readonly PublicIncident[],
  now: Date,
): ShownComponent[] {
  const open = incidents.filter((i) => isActive(i, now));
  return components.map((c) => {
    const on = open.filter((i) => i.components.includes(c.id));
    return {
      ...c,
      state: worst([c.operatorState, ...on.map((i) => impactState(i.impact))]),
      incidents: on.map((i) => i.id),
    };
  });
}

/** One observed minute of a component in the uptime counts. */
export function minuteCounts(state: ComponentState): DayCounts {
  return {
    observed: 1,
    degraded: state === 'degraded' ? 1 : 0,
    partial: state === 'partial_outage' ? 1 : 0,
    major: state === 'major_outage' ? 1 : 0,
    maintenance: state === 'maintenance' ? 1 : 0,
  };
}

export type StatusService = ReturnType<typeof createStatusService>;

export function createStatusService(deps: { db: Tenancy; clock: Clock; incidents: IncidentsService }) {
  const { db, clock, incidents } = deps;
  const audit = (tx: Tx, action: AuditAction, by: Operator, target: string, payload: Record<string, unknown>) =>
    appendAudit(tx, { stream: systemStream, action, actor: operatorActor(by), target, payload }, clock);

  const components = async () => (await db.withSystem((tx) => repo.listComponents(tx))).map(fromRow);
  const publicIncidents = () => incidents.publicIncidents({ since: new Date(clock.now().getTime() - HISTORY_MS) });

  async function shown(): Promise<{ components: ShownComponent[]; incidents: PublicIncident[] }> {
    const [list, all] = await Promise.all([components(), publicIncidents()]);
    return { components: shownStates(list, all, clock.now()), incidents: all };
  }

  return {
    components,
    shown,
    publicIncidents,
    incident: (id: string) => incidents.publicIncident(id),

    async add(input: ComponentInput, by: Operator): Promise<StatusComponent> {
      const fields = componentProblems(input, { withId: true });
      if (fields.length) throw statusError('status_component_invalid', { fields });
      const now = clock.now();
      return db.withSystem(async (tx) => {
        if ((await repo.component(tx, input.id)) || (await repo.componentNamed(tx, input.name.trim())))
          throw statusError('status_component_exists', {
            fields: [{ field: 'name', message: 'A component with this id or name already exists.' }],
          });
        const row: repo.ComponentRow = {
          id: input.id,
          name: input.name.trim(),
          description: input.description.trim(),
          position: await repo.nextPosition(tx),
          operator_state: input.state as ComponentState,
          created_at: now,
          updated_at: now,
        };
        await repo.insertComponent(tx, row);
        await audit(tx, 'status.component_added', by, `status_component:${row.id}`, {
          name: row.name,
          state: row.operator_state,
        });
        return fromRow(row);
      });
    },

    async change(id: string, input: Omit<ComponentInput, 'id'>, by: Operator): Promise<void> {
      const fields = componentProblems(input, { withId: false });
      if (fields.length) throw statusError('status_component_invalid', { fields });
      await db.withSystem(async (tx) => {
        const before = await repo.component(tx, id);
        if (!before) throw statusError('status_component_not_found');
        const named = await repo.componentNamed(tx, input.name.trim());
        if (named && named.id !== id)
          throw statusError('status_component_exists', {
            fields: [{ field: 'name', message: 'Another component has this name.' }],
          });
        const set = {
          name: input.name.trim(),
          description: input.description.trim(),
          operator_state: input.state as ComponentState,
        };
        await repo.updateComponent(tx, id, { ...set, updated_at: clock.now() });
        await audit(tx, 'status.component_changed', by, `status_component:${id}`, {
          name: set.name,
          state: set.operator_state,
          previousState: before.operator_state,
        });
      });
    },

    /** Moves a component one place up or down in the page's order. */
    async move(id: string, direction: 'up' | 'down', by: Operator): Promise<void> {
      await db.withSystem(async (tx) => {
        const list = await repo.listComponents(tx);
        const at = list.findIndex((c) => c.id === id);
        if (at < 0) throw statusError('status_component_not_found');
        const to = direction === 'up' ? at - 1 : at + 1;
        if (to < 0 || to >= list.length) return;
        const order = [...list];
        [order[at], order[to]] = [order[to]!, order[at]!];
        const now = clock.now();
        for (const [i, c] of order.entries())
          if (c.position !== i) await repo.updateComponent(tx, c.id, { position: i, updated_at: now });
        await audit(tx, 'status.component_changed', by, `status_component:${id}`, { moved: direction });
      });
    },

    async remove(id: string, by: Operator): Promise<void> {
      await db.withSystem(async (tx) => {
        if (!(await repo.deleteComponent(tx, id))) throw statusError('status_component_not_found');
        await audit(tx, 'status.component_removed', by, `status_component:${id}`, {});
      });
    },

    /** The 90 days of each component, oldest first. */
    async uptime(list: readonly StatusComponent[]): Promise<Map<string, UptimeDay[]>> {
      const now = clock.now();
      const first = dayKey(new Date(now.getTime() - HISTORY_MS));
      const rows = await db.withSystem((tx) => repo.daysSince(tx, first));
      const byComponent = new Map<string, Map<string, DayCounts>>();
      for (const r of rows) {
        const m = byComponent.get(r.component_id) ?? new Map<string, DayCounts>();
        m.set(r.day, { ...EMPTY_DAY, ...r });
        byComponent.set(r.component_id, m);
      }
      return new Map(list.map((c) => [c.id, uptimeDays(byComponent.get(c.id) ?? new Map(), now, c.createdAt)]));
    },

    /**
     * Records the current minute (and the one before, when no instance did: a timer that drifts past
     * a minute boundary loses nothing) for every component, in the state given. Returns the minutes
     * this instance recorded.
     */
    async recordMinutes(states: ReadonlyMap<string, ComponentState>): Promise<Date[]> {
      const now = clock.now();
      const minute = Math.floor(now.getTime() / 60_000) * 60_000;
      const recorded: Date[] = [];
      for (const at of [minute - 60_000, minute].map((m) => new Date(m))) {
        await db.withSystem(async (tx) => {
          if (!(await repo.claimMinute(tx, at))) return;
          recorded.push(at);
          for (const [id, state] of states) await repo.addToDay(tx, id, dayKey(at), minuteCounts(state));
        });
      }
      await db.withSystem(async (tx) => {
        await repo.pruneMinutes(tx, new Date(minute - 86_400_000));
        await repo.pruneDays(tx, dayKey(new Date(minute - HISTORY_MS - 86_400_000)));
      });
      return recorded;
    },
  };
}

import type { Impact } from './incidents-port.js';

/** A component's state, as the operator sets it and as the page shows it. */
export type ComponentState = 'operational' | 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance';

export const STATES: readonly ComponentState[] = [
  'operational',
  'degraded',
  'partial_outage',
  'major_outage',
  'maintenance',
];

/** Worse is higher: maintenance is announced work, so anything that breaks during it is worse. */
const RANK: Record<ComponentState, number> = {
  operational: 0,
  maintenance: 1,
  degraded: 2,
  partial_outage: 3,
  major_outage: 4,
};

export const STATE_LABEL: Record<ComponentState, string> = {
  operational: 'Operational',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  maintenance: 'Under maintenance',
};

export const isState = (v: string): v is ComponentState => (STATES as readonly string[]).includes(v);

export function worst(states: readonly ComponentState[]): ComponentState {
  let out: ComponentState = 'operational';
  for (const s of states) if (RANK[s] > RANK[out]) out = s;
  return out;
}

/** An incident's impact as a component state (the names are the same). */
export const impactState = (impact: Impact): ComponentState => impact;

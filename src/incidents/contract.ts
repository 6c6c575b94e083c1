import type { Breaches } from './breach.js';
import type { PublicIncident } from './model.js';
import type { IncidentCore } from './service.js';

/** What other features (the status page) get from incidents: `use('incidents')`. */
export interface IncidentsService {
  /** Public (confirmed, not draft) incidents and maintenance overlapping [since, now], newest first. */
  publicIncidents(opts: { since: Date }): Promise<PublicIncident[]>;
  publicIncident(id: string): Promise<PublicIncident | undefined>;
  /**
   * A failing probe: one open draft per component (idempotent, also across instances). Drafts are
   * not public until an operator confirms them.
   */
  openDraftFromProbe(input: { component: string; title: string; detail: string }): Promise<{
    id: string;
    created: boolean;
  }>;
  /**
   * Called after commit each time a public incident is published or gets a public update
   * (status-page subscribers).
   */
  onPublicUpdate(listener: (incident: PublicIncident) => void): void;
  /**
   * The status feature (after this one in the list) tells incidents which components exist, for
   * the incident forms.
   */
  useComponents(source: () => Promise<{ id: string; name: string }[]>): void;
  /** This feature's own console pages and job: declaring, phases, breaches and their deadlines. */
  operatorConsole: { core: IncidentCore; breaches: Breaches };
}

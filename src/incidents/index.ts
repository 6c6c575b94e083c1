import { defineFeature } from '../feature.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type Phase = 'identify' | 'contain' | 'eradicate' | 'recover' | 'review' | 'closed';
/** Impact on status components: what the status page shows while the incident is open. */
export type Impact = 'degraded' | 'partial_outage' | 'major_outage' | 'maintenance';
export interface PublicIncident {
  id: string;
  title: string;
  severity: Severity;
  kind: 'incident' | 'maintenance';
  impact: Impact; // worst impact on its components
  components: string[]; // status component ids affected
  phase: Phase;
  startedAt: Date; // when the impact began
  resolvedAt: Date | null; // when service was restored; null while ongoing
  scheduledStart: Date | null;
  scheduledEnd: Date | null; // maintenance windows
  updates: { at: Date; phase: Phase; message: string }[]; // public updates, newest first
  report: { publishedAt: Date; body: string } | null; // the written public report (post-mortem)
  reportDue: boolean; // an outage (partial/major) longer than 30 min, resolved, no report yet
}
export interface IncidentsService {
  /** Public (confirmed, not draft) incidents and maintenance overlapping [since, now], newest first. */
  publicIncidents(opts: { since: Date }): Promise<PublicIncident[]>;
  publicIncident(id: string): Promise<PublicIncident | undefined>;
  /** A failing probe: one open draft per component (idempotent, also across instances). Drafts are not public until an operator confirms them. */
  openDraftFromProbe(input: { component: string; title: string; detail: string }): Promise<{
    id: string;
    created: boolean;
  }>;
  /** Called after commit each time a public incident is published or gets a public update (status-page subscribers). */
  onPublicUpdate(listener: (incident: PublicIncident) => void): void;
  /** The status feature (after this one in the list) tells incidents which components exist, for the incident forms. */
  useComponents(source: () => Promise<{ id: string; name: string }[]>): void;
}
declare module '../feature.js' {
  interface Services {
    incidents: IncidentsService;
  }
}

/** X1, X2: incident response, personal-data breaches and the public incidents of the status page. */
export const incidentsFeature = defineFeature({
  name: 'incidents',
  title: 'Incident response and breach notification',
});

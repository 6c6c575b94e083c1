import { defineFeature } from '../feature.js';
import { incidentApiRoutes } from './api.js';
import { INCIDENT_AUDIT_ACTIONS } from './audit-actions.js';
import { type Breaches, createBreaches, deadlineRecipients } from './breach.js';
import { incidentTrustChecks } from './checks.js';
import { INCIDENT_ERRORS } from './errors.js';
import { INCIDENT_PERMISSIONS } from './permissions.js';
import { incidentRoutes } from './routes.js';
import { createIncidentCore, type IncidentCore } from './service.js';

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
declare module '../feature.js' {
  interface Services {
    incidents: IncidentsService;
  }
}

const DEADLINES_EVERY_MS = 5 * 60 * 1000;

/** X1, X2: incident response, personal-data breaches, and the public incidents of the status page. */
export const incidentsFeature = defineFeature({
  name: 'incidents',
  title: 'Incident response and breach notification',
  errors: INCIDENT_ERRORS,
  auditActions: INCIDENT_AUDIT_ACTIONS,
  permissions: INCIDENT_PERMISSIONS,
  orgTabs: [{ path: '/security-notices', label: 'Security notices', permission: 'security_notices.read' }],
  operatorPages: [
    { path: '/operator/incidents', label: 'Incidents' },
    { path: '/operator/incidents/breaches', label: 'Breach register' },
  ],
  setup({ platform: p, use, provide }) {
    const operator = use('operator');
    const core = createIncidentCore({
      db: p.db,
      clock: p.clock,
      onListenerError: (err) => p.logger.error({ err }, 'a public incident listener failed'),
    });
    const breaches = createBreaches({
      db: p.db,
      clock: p.clock,
      mailer: p.mailer,
      logger: p.logger,
      baseUrl: p.config.baseUrl,
      core,
      orgs: use('orgs'),
      recipients: deadlineRecipients(operator.console),
    });
    p.schedule.every('incidents.deadlines', DEADLINES_EVERY_MS, async () => {
      await breaches.mailOverdue();
    });
    provide('incidents', {
      publicIncidents: core.publicIncidents,
      publicIncident: core.publicIncident,
      openDraftFromProbe: core.openDraftFromProbe,
      onPublicUpdate: core.onPublicUpdate,
      useComponents: core.useComponents,
      operatorConsole: { core, breaches },
    });
  },
  routes(app, { use }) {
    incidentRoutes(app, { incidents: use('incidents'), operator: use('operator'), orgs: use('orgs') });
    incidentApiRoutes(app, { incidents: use('incidents'), operator: use('operator') });
  },
  trustChecks({ use, platform: p }) {
    return incidentTrustChecks({ list: use('incidents').operatorConsole.core.list, clock: p.clock });
  },
});

export { deadlineRecipients, mailOverdueDeadlines } from './breach.js';

import { defineFeature } from '../feature.js';
import { incidentApiRoutes } from './api.js';
import { INCIDENT_AUDIT_ACTIONS } from './audit-actions.js';
import { createBreaches, deadlineRecipients } from './breach.js';
import { incidentTrustChecks } from './checks.js';
import { INCIDENT_ERRORS } from './errors.js';
import { INCIDENT_PERMISSIONS } from './permissions.js';
import { incidentRoutes } from './routes.js';
import type { IncidentsService } from './contract.js';
import { createIncidentCore } from './service.js';

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

export type { IncidentsService } from './contract.js';
export type { Impact, Phase, PublicIncident, Severity } from './model.js';

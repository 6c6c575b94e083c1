import { defineFeature } from '../feature.js';
import { STATUS_AUDIT_ACTIONS } from './audit-actions.js';
import { statusTrustChecks } from './checks.js';
import { statusConsoleRoutes } from './console-routes.js';
import { STATUS_ERRORS } from './errors.js';
import { createProbeService, type ProbeService } from './probes.js';
import { statusRoutes } from './routes.js';
import { createStatusService, type StatusService } from './service.js';
import { createSubscriberService, type SubscriberService } from './subscribers.js';

declare module '../feature.js' {
  interface Services {
    status: { status: StatusService; probes: ProbeService; subscribers: SubscriberService };
  }
  interface Overrides {
    /** The CA status probes trust instead of the default roots (tests: their own). */
    statusProbeCa?: Buffer;
    /** Consecutive probe failures that open a draft incident (default 3). */
    statusProbeFailures?: number;
    /** Probe deadline in ms (default 10 000). */
    statusProbeTimeoutMs?: number;
  }
}

const PROBE_EVERY_MS = 60_000;

/** X2: the public status page, its components, uptime, probes, feeds and e-mail subscribers. */
export const statusFeature = defineFeature({
  name: 'status',
  title: 'Public status page',
  errors: STATUS_ERRORS,
  auditActions: STATUS_AUDIT_ACTIONS,
  operatorPages: [{ path: '/operator/status', label: 'Status page' }],
  setup({ platform: p, use, provide }) {
    const incidents = use('incidents');
    const { console } = use('operator');
    const status = createStatusService({ db: p.db, clock: p.clock, incidents });
    const probes = createProbeService({
      db: p.db,
      clock: p.clock,
      status,
      incidents,
      logger: p.logger,
      check: { dev: p.config.dev, ca: p.overrides.statusProbeCa, timeoutMs: p.overrides.statusProbeTimeoutMs },
      failuresForDraft: p.overrides.statusProbeFailures ?? 3,
    });
    const productName = async () => (await console.settings()).productName;
    const subscribers = createSubscriberService({
      db: p.db,
      clock: p.clock,
      limits: p.limits,
      mailer: p.mailer,
      logger: p.logger,
      baseUrl: p.config.baseUrl,
      productName,
      key: p.subkey('rampart status unsubscribe v1'),
      componentIds: async () => (await status.components()).map((c) => c.id),
    });
    incidents.useComponents(async () => (await status.components()).map((c) => ({ id: c.id, name: c.name })));
    incidents.onPublicUpdate((incident) => p.background.run(() => subscribers.notify(incident)));
    p.schedule.every('status.probes', PROBE_EVERY_MS, () => probes.run());
    provide('status', { status, probes, subscribers });
  },
  routes(app, { platform: p, use }) {
    const { status, probes, subscribers } = use('status');
    const operator = use('operator');
    const productName = async () => (await operator.console.settings()).productName;
    statusRoutes(app, { status, subscribers, productName, baseUrl: p.config.baseUrl, now: () => p.clock.now() });
    statusConsoleRoutes(app, {
      status,
      probes,
      operator,
      pages: operator.pages,
      runProbes: () => p.schedule.run('status.probes'),
    });
  },
  trustChecks({ platform: p, use }) {
    const { status, probes } = use('status');
    return statusTrustChecks({ status, probes, dev: p.config.dev });
  },
});

export type { StatusService, ShownComponent, StatusComponent } from './service.js';
export type { ComponentState } from './states.js';

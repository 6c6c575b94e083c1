import { defineFeature, type TrustCheck } from '../feature.js';
import { DISCLOSURE_AUDIT_ACTIONS } from './audit-actions.js';
import { DISCLOSURE_ERRORS } from './errors.js';
import { disclosureRoutes } from './routes.js';
import { validateSecurityTxt } from './security-txt.js';
import { createDisclosureService, type DisclosureService } from './service.js';

declare module '../feature.js' {
  interface Services {
    disclosure: DisclosureService;
  }
  interface Overrides {
    /** Report form submissions per address and hour (default 10). */
    disclosureReportsPerHour?: number;
  }
}

const DEADLINES_EVERY_MS = 15 * 60 * 1000;

/** X3: security.txt, the vulnerability report form, and the acknowledgement deadline kept. */
export const disclosureFeature = defineFeature({
  name: 'disclosure',
  title: 'Vulnerability disclosure',
  errors: DISCLOSURE_ERRORS,
  auditActions: DISCLOSURE_AUDIT_ACTIONS,
  operatorPages: [{ path: '/operator/disclosure', label: 'Vulnerability reports' }],
  setup({ platform: p, use, provide }) {
    const service = createDisclosureService({
      db: p.db,
      clock: p.clock,
      limits: p.limits,
      mailer: p.mailer,
      background: p.background,
      logger: p.logger,
      operatorConsole: use('operator').console,
      baseUrl: p.config.baseUrl,
      formKey: p.subkey('rampart disclosure report form v1'),
      reportsPerHour: p.overrides.disclosureReportsPerHour ?? 10,
    });
    p.schedule.every('disclosure.deadlines', DEADLINES_EVERY_MS, async () => {
      await service.runDeadlines();
    });
    provide('disclosure', service);
  },
  routes(app, { platform: p, use }) {
    disclosureRoutes(app, {
      service: use('disclosure'),
      operator: use('operator'),
      baseUrl: p.config.baseUrl,
      now: () => p.clock.now(),
    });
  },
  trustChecks({ platform: p, use }): readonly TrustCheck[] {
    const service = use('disclosure');
    const operator = use('operator');
    return [
      {
        control: 'X3',
        id: 'security-txt',
        title: 'security.txt (RFC 9116) is served, valid and not expired, naming a security contact',
        async run(probe) {
          const settings = await operator.console.settings();
          if (!settings.securityContact)
            return {
              status: 'not_configured',
              detail: 'Set a security contact on the operator console (Product and contact).',
            };
          const canonical = `${p.config.baseUrl}/.well-known/security.txt`;
          const res = await probe.request('/.well-known/security.txt');
          if (res.status !== 200)
            return { status: 'failing', detail: `/.well-known/security.txt answered ${res.status}` };
          const type = String(res.headers['content-type'] ?? '');
          if (!/^text\/plain;\s*charset=utf-8$/i.test(type))
            return { status: 'failing', detail: `served as "${type}", not text/plain; charset=utf-8` };
          const verdict = validateSecurityTxt(res.body, { now: p.clock.now(), canonical });
          if (!verdict.ok) return { status: 'failing', detail: verdict.problems.join('; ') };
          const expires = verdict.fields.find((f) => f.name === 'expires')?.value;
          return { status: 'passing', detail: `valid, contact ${settings.securityContact}, expires ${expires}` };
        },
      },
      {
        control: 'X3',
        id: 'disclosure-ack-deadline',
        title: 'No vulnerability report is past its acknowledgement deadline unacknowledged',
        async run() {
          const [overdue, days] = await Promise.all([service.overdueCount(), service.ackDays()]);
          if (overdue > 0)
            return {
              status: 'failing',
              detail:
                `${overdue} ${overdue === 1 ? 'report is' : 'reports are'} past the ${days}-business-day ` +
                'acknowledgement deadline unacknowledged',
            };
          return {
            status: 'passing',
            detail: `every report is acknowledged or within its ${days}-business-day deadline`,
          };
        },
      },
    ];
  },
});

export { validateSecurityTxt } from './security-txt.js';
export type { DisclosureService } from './service.js';

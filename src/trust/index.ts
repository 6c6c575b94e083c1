import type { FastifyInstance } from 'fastify';
import { defineFeature, type Platform } from '../feature.js';
import { TRUST_AUDIT_ACTIONS } from './audit-actions.js';
import { escapingCheck, logRedactionCheck, parameterizedQueryCheck } from './code-checks.js';
import { argon2Check, masterKeyCheck, rlsCheck } from './data-checks.js';
import { dependencyAuditCheck } from './dependency-audit-check.js';
import { dkimCheck } from './mail-check.js';
import { smtpTlsCheck } from './outbound-checks.js';
import { injectProbe, type SelfProbe } from './probe.js';
import { csrfCheck, headersCheck, inputChecks } from './request-checks.js';
import { trustRoutes } from './routes.js';
import { createCheckRunner } from './runner.js';
import { createTrustService, type SignedReport } from './service.js';
import { signatureCheck } from './signature-check.js';
import { createReportSigner, SUBKEY_INFO } from './signing.js';
import { hstsCheck, tlsCheck } from './transport-checks.js';

export const CHECK_EVERY_MS = 15 * 60 * 1000;

/** What the platform's own checks read of the running app, bound when the routes are registered. */
interface Bound {
  app: FastifyInstance;
  probe: SelfProbe;
  signed(): Promise<SignedReport>;
}
const bound = new WeakMap<Platform, Bound>();

/**
 * X8: the live trust page. Every feature's checks (trustChecks) run on a schedule and on demand;
 * /trust shows every control of the catalogue with the status they give it, /trust.json the same
 * report signed with Ed25519 (key at /trust/key), /trust/caiq.* the CAIQ v4 answers it gives.
 */
export const trustFeature = defineFeature({
  name: 'trust',
  title: 'Trust page',
  auditActions: TRUST_AUDIT_ACTIONS,
  operatorPages: [{ path: '/operator/trust', label: 'Trust checks' }],
  trustChecks({ platform: p }) {
    const b = bound.get(p);
    if (!b) return [];
    const probe = () => b.probe;
    const listener = () => b.app.server;
    return [
      tlsCheck(listener, p.config),
      hstsCheck(listener, p.config, probe),
      csrfCheck(probe, p.config.baseUrl),
      headersCheck(probe),
      ...inputChecks(probe),
      argon2Check(p.hasher),
      masterKeyCheck(p.config),
      rlsCheck(p.db),
      escapingCheck(),
      parameterizedQueryCheck(p.db, probe),
      logRedactionCheck(p.logger),
      dkimCheck(p.config),
      smtpTlsCheck(p.config),
      signatureCheck(b.signed),
      dependencyAuditCheck(p.clock),
    ];
  },
  routes(app, ctx) {
    const { platform: p } = ctx;
    const operator = ctx.use('operator');
    const signer = createReportSigner(p.subkey(SUBKEY_INFO));
    const probe = injectProbe(app);
    let service: ReturnType<typeof createTrustService> | undefined;
    bound.set(p, { app, probe, signed: () => service!.signed({ runIfEmpty: false }) });
    const checks = ctx.features.flatMap((f) => f.trustChecks?.(ctx) ?? []);
    const runner = createCheckRunner({ db: p.db, clock: p.clock, checks, probe });
    service = createTrustService({
      db: p.db,
      clock: p.clock,
      baseUrl: p.config.baseUrl,
      runner,
      signer,
      settings: () => operator.console.settings(),
    });
    p.schedule.every('trust.checks', CHECK_EVERY_MS, async () => {
      await runner.runAll();
    });
    trustRoutes(app, service, operator);
  },
});

export { trustCommands } from './commands.js';

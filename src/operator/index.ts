import type { FastifyReply, FastifyRequest } from 'fastify';
import { defineFeature, type OperatorPage } from '../feature.js';
import { OPERATOR_AUDIT_ACTIONS } from './audit-actions.js';
import { createOperatorConsole, type OperatorConsole } from './console.js';
import { OPERATOR_ERRORS } from './errors.js';
import { operatorGuard, operatorOf, operatorPageGuard } from './http.js';
import { createJobsConsole } from './jobs.js';
import { operatorJobRoutes } from './jobs-routes.js';
import { operatorConsoleRoutes } from './routes.js';
import { createOperatorTokens, type Operator, type OperatorTokens } from './service.js';

declare module '../feature.js' {
  interface Services {
    operator: OperatorService;
  }
  interface Overrides {
    /** Failed operator tokens per address and window before the address is refused (default 10). */
    operatorTokenFailures?: number;
  }
}

export interface OperatorService {
  tokens: OperatorTokens;
  /**
   * The preHandler of every operator route: a live operator token in `Authorization: Bearer rop_…`,
   * else 401 `operator_unauthorized` (429 once an address has failed too often). Routes that use it
   * authenticate with it alone, so they set `config: { csrfExempt: true, ownBearer: true }`.
   */
  requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * The preHandler of operator console pages (/operator/…): a signed-in account granted the console
   * (`rampart operator grant <email>`) whose session presented a second factor; not signed in goes
   * to sign-in and back, anyone else gets 403 `operator_console_forbidden`.
   */
  requireOperatorPage(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  /** The operator of a request that passed requireOperator or requireOperatorPage. */
  operatorOf(request: FastifyRequest): Operator;
  /** Console grants and the deployment's settings (product name, security contact, policy). */
  console: OperatorConsole;
  /** Every feature's console pages, for the console's navigation (OperatorShell). */
  pages: readonly OperatorPage[];
}

const WINDOW_SEC = 15 * 60;

/** The people who run this deployment, acting through the API with operator tokens. */
export const operatorFeature = defineFeature({
  name: 'operator',
  title: 'Operator access',
  errors: OPERATOR_ERRORS,
  auditActions: OPERATOR_AUDIT_ACTIONS,
  operatorPages: [
    { path: '/operator/settings', label: 'Product and contact' },
    { path: '/operator/jobs', label: 'Jobs' },
  ],
  setup({ platform: p, features, provide }) {
    const tokens = createOperatorTokens({ db: p.db, clock: p.clock });
    const requireOperator = operatorGuard(tokens, p.limits, {
      failures: p.overrides.operatorTokenFailures ?? 10,
      windowSec: WINDOW_SEC,
    });
    const console = createOperatorConsole({ db: p.db, clock: p.clock });
    const requireOperatorPage = operatorPageGuard(console.isOperator);
    const pages = features.flatMap((f) => f.operatorPages ?? []);
    provide('operator', { tokens, requireOperator, requireOperatorPage, operatorOf, console, pages });
  },
  routes(app, { use, platform: p }) {
    const { console, requireOperatorPage, requireOperator, pages } = use('operator');
    operatorConsoleRoutes(app, { console, requireOperatorPage, pages });
    const jobs = createJobsConsole({ db: p.db, clock: p.clock, runner: p.schedule });
    operatorJobRoutes(app, { jobs, runner: p.schedule.kind, pages, requireOperatorPage, requireOperator });
  },
});

export { operatorCommands } from './commands.js';
export { createOperatorTokens, type Operator, operatorActor, type OperatorTokenInfo } from './service.js';
export { createOperatorConsole, type DeploymentSettings, type OperatorConsole } from './console.js';
export { OperatorShell } from './pages.js';

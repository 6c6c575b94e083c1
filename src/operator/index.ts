import type { FastifyReply, FastifyRequest } from 'fastify';
import { defineFeature } from '../feature.js';
import { OPERATOR_AUDIT_ACTIONS } from './audit-actions.js';
import { OPERATOR_ERRORS } from './errors.js';
import { operatorGuard, operatorOf } from './http.js';
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
  /** The operator of a request that passed requireOperator. */
  operatorOf(request: FastifyRequest): Operator;
}

const WINDOW_SEC = 15 * 60;

/** The people who run this deployment, acting through the API with operator tokens. */
export const operatorFeature = defineFeature({
  name: 'operator',
  title: 'Operator access',
  errors: OPERATOR_ERRORS,
  auditActions: OPERATOR_AUDIT_ACTIONS,
  setup({ platform: p, provide }) {
    const tokens = createOperatorTokens({ db: p.db, clock: p.clock });
    const requireOperator = operatorGuard(tokens, p.limits, {
      failures: p.overrides.operatorTokenFailures ?? 10,
      windowSec: WINDOW_SEC,
    });
    provide('operator', { tokens, requireOperator, operatorOf });
  },
});

export { operatorCommands } from './commands.js';
export { createOperatorTokens, type Operator, operatorActor, type OperatorTokenInfo } from './service.js';

import type { FastifyInstance } from 'fastify';
import type { OrgTab } from '../feature.js';
import type { OperatorService } from '../operator/index.js';
import type { OrgService } from '../orgs/index.js';
import type { ProviderRegistry } from './providers.js';
import type { VaultService } from './service.js';

export function vaultPageRoutes(
  _app: FastifyInstance,
  _deps: {
    vault: VaultService & { providers: ProviderRegistry };
    orgs: OrgService;
    operator: OperatorService;
    tabs: readonly OrgTab[];
  },
): void {}

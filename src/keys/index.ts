import { defineFeature } from '../feature.js';
import { allSealedValues } from '../platform/keys/values.js';
import { KEYS_AUDIT_ACTIONS } from './audit-actions.js';
import { KEYS_ERRORS } from './errors.js';
import { keysRoutes } from './routes.js';
import { createKeysService, type KeysService } from './service.js';
import { rotationCheck } from './trust-check.js';

declare module '../feature.js' {
  interface Services {
    keys: KeysService;
  }
}

/** D3: master key rotation: the console page, the operator API and the live check (the CLI is in commands.ts). */
export const keysFeature = defineFeature({
  name: 'keys',
  title: 'Master key rotation',
  errors: KEYS_ERRORS,
  auditActions: KEYS_AUDIT_ACTIONS,
  operatorPages: [{ path: '/operator/keys', label: 'Master keys' }],
  setup({ platform: p, features, provide }) {
    const values = allSealedValues(features);
    const service = createKeysService({ ...p, keys: p.keys, values });
    p.onClose(() => service.settled());
    provide('keys', service);
  },
  routes(app, { use }) {
    keysRoutes(app, { operator: use('operator'), keys: use('keys') });
  },
  trustChecks: ({ platform: p, features }) => [
    rotationCheck({ db: p.db, values: allSealedValues(features), clock: p.clock }),
  ],
});

export { keyRotationCommands } from './commands.js';
export type { KeysService, KeyOperation } from './service.js';

import { defineFeature } from '../feature.js';
import { allSealedValues } from '../platform/keys/values.js';
import { rotationCheck } from './trust-check.js';

/** D3: master key rotation: the console page, the operator API and the live check (the CLI is in commands.ts). */
export const keysFeature = defineFeature({
  name: 'keys',
  title: 'Master key rotation',
  trustChecks: ({ platform: p, features }) => [
    rotationCheck({ db: p.db, values: allSealedValues(features), clock: p.clock }),
  ],
});

export { keyRotationCommands } from './commands.js';

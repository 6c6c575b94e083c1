import { accountFeature } from './account/index.js';
import { auditFeature } from './audit/index.js';
import { devFeature } from './dev/index.js';
import { disclosureFeature } from './disclosure/index.js';
import { docsFeature } from './docs/index.js';
import { externalSignInFeature } from './external-signin/index.js';
import type { Feature } from './feature.js';
import { homeFeature } from './home/index.js';
import { identityFeature } from './identity/index.js';
import { incidentsFeature } from './incidents/index.js';
import { keysFeature } from './keys/index.js';
import { mfaFeature } from './mfa/index.js';
import { oidcFeature } from './oidc/index.js';
import { operatorFeature } from './operator/index.js';
import { orgsFeature } from './orgs/index.js';
import { sessionsFeature } from './sessions/index.js';
import { statusFeature } from './status/index.js';
import { trustFeature } from './trust/index.js';
import { vaultFeature } from './vault/index.js';

/**
 * Every feature, in the order their services are built: a feature may use the services of the
 * ones above it. Adding a feature: its folder, one line here, and its migration.
 */
export const FEATURES: readonly Feature[] = [
  sessionsFeature,
  orgsFeature,
  mfaFeature,
  identityFeature,
  externalSignInFeature,
  accountFeature,
  auditFeature,
  operatorFeature,
  oidcFeature,
  vaultFeature,
  incidentsFeature,
  statusFeature,
  disclosureFeature,
  keysFeature,
  trustFeature,
  homeFeature,
  docsFeature,
  devFeature,
];

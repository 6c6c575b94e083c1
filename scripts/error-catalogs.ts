// Every error catalog, in the order docs/errors.md lists them. Features are imported here (and not
// from src/platform, which no feature may be imported into) until the feature-module list carries them.
import { IDENTITY_ERRORS } from '../src/identity/errors.js';
import { MFA_ERRORS } from '../src/mfa/errors.js';
import { ORG_ERRORS } from '../src/orgs/errors.js';
import { PLATFORM_ERRORS } from '../src/platform/errors.js';
import { type ErrorDocSection, SCHEMA_LAYER_NOTES } from '../src/platform/errors-doc.js';
import { SESSION_ERRORS } from '../src/sessions/errors.js';

export const ERROR_CATALOGS: readonly ErrorDocSection[] = [
  {
    title: 'Every endpoint',
    source: 'src/platform/errors.ts',
    catalog: PLATFORM_ERRORS,
    notes: SCHEMA_LAYER_NOTES,
  },
  { title: 'Sessions', source: 'src/sessions/errors.ts', catalog: SESSION_ERRORS },
  { title: 'Identity', source: 'src/identity/errors.ts', catalog: IDENTITY_ERRORS },
  { title: 'Two-factor sign-in and step-up', source: 'src/mfa/errors.ts', catalog: MFA_ERRORS },
  { title: 'Organizations', source: 'src/orgs/errors.ts', catalog: ORG_ERRORS },
];

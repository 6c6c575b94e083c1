import { defineFeature } from '../feature.js';
import { accountApiRoutes } from './api.js';
import { ACCOUNT_AUDIT_ACTIONS } from './audit-actions.js';
import { accountPageRoutes } from './routes.js';
import { createAccountSessions } from './sessions.js';
import { accountTrustChecks } from './trust-checks.js';

/** S4 and the account security page: it composes sessions, identity, second factors and linked accounts. */
export const accountFeature = defineFeature({
  name: 'account',
  title: 'Account',
  auditActions: ACCOUNT_AUDIT_ACTIONS,
  routes(app, { platform: p, use }) {
    const account = createAccountSessions({ db: p.db, sessions: use('sessions'), clock: p.clock });
    accountPageRoutes(app, account, use('identity'), use('mfa'), use('passkeys'), use('externalSignIn'));
    accountApiRoutes(app, account, use('identity'));
  },
  trustChecks: ({ platform: p, use }) => accountTrustChecks({ sessions: use('sessions'), clock: p.clock }),
});

import { defineFeature } from '../feature.js';
import { auditApiRoutes } from './api.js';
import { AUDIT_LOG_AUDIT_ACTIONS } from './audit-actions.js';
import { auditChecks } from './checks.js';
import { createOrgAuditLog } from './org-log.js';
import { AUDIT_PERMISSIONS } from './permissions.js';
import { auditPageRoutes } from './routes.js';
import { auditAccessCheck } from './trust-checks.js';

/** L1 for customers: an organization's own audit log, filtered, exported and verified. */
export const auditFeature = defineFeature({
  name: 'audit',
  title: 'Audit log',
  permissions: AUDIT_PERMISSIONS,
  auditActions: AUDIT_LOG_AUDIT_ACTIONS,
  orgTabs: [{ path: '/audit', label: 'Audit log', permission: 'audit.read' }],
  trustChecks: ({ platform: p }) => [...auditChecks(p.db), auditAccessCheck(p.db)],
  routes(app, { platform: p, use }) {
    const log = createOrgAuditLog({ orgs: use('orgs'), clock: p.clock });
    auditApiRoutes(app, log);
    auditPageRoutes(app, log, use('orgs'));
  },
});

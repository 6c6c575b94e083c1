import { type AuditAction, auditActions, defineAuditActions } from '../../src/platform/audit/actions.js';

/** An action name for tests that append events directly, declared as appendAudit requires. */
export function testAction(name: string): AuditAction {
  if (!auditActions().has(name)) defineAuditActions({ [name]: { description: 'Written by a test.' } });
  return name as AuditAction;
}

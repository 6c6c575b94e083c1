/**
 * L1: the audit action registry. Every action a feature writes is declared once, by that feature,
 * with what it means; `appendAudit` takes only declared names, and docs/audit-actions.md is
 * generated from the declarations.
 */
export interface AuditActionDef {
  description: string;
  /** Shown in a person's sign-in history under this label (S4); absent: not a sign-in event. */
  signInHistory?: string;
}

/** Action names: each feature adds its own by declaration merging (see defineAuditActions). */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each feature's declaration merging
export interface AuditActionNames {}
export type AuditAction = keyof AuditActionNames & string;

const declared = new Map<string, AuditActionDef>();

/**
 * Declares a feature's actions, at import. A name declared twice is a start-up error: two
 * features must not share one name with two meanings.
 */
export function defineAuditActions<const T extends Record<string, AuditActionDef>>(defs: T): T {
  for (const [name, def] of Object.entries(defs)) {
    if (declared.has(name)) throw new Error(`audit action ${name} is declared twice`);
    declared.set(name, def);
  }
  return defs;
}

export function auditActions(): ReadonlyMap<string, AuditActionDef> {
  return declared;
}

/** Who asked, from where: recorded with audit events. */
export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

/** Who asked, from where: recorded with audit events. */
export interface RequestContext {
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** The device cookie this browser presented, if any (credential checks only; never recorded). */
  device?: string | null;
}

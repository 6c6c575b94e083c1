import type { RampartIdentity } from './identity.js';

/** Consulted by the middleware after a token verifies: a revoked session is refused (401). */
export interface RevocationChecker {
  isRevoked(identity: RampartIdentity): boolean | Promise<boolean>;
}

export interface SessionRevocationsOptions {
  /**
   * How long a revocation is remembered, in seconds. Must cover the access-token lifetime plus
   * clock leeway (Rampart issues 15-minute tokens). Default 1 200 (20 minutes).
   */
  ttlSec?: number;
  /** Upper bound of remembered sessions and users; the oldest are dropped first. Default 100 000. */
  maxEntries?: number;
}

/**
 * An in-memory record of logged-out sessions (`sid`) and users (`sub`), filled from back-channel
 * logout (`onLogout: (e) => revocations.record(e)`) and consulted by the middleware
 * (`revocations` option). A logout naming a `sid` ends that session; one naming only a `sub` ends
 * every session of the user that exists at that moment: tokens issued afterwards stay valid.
 * It is per process: with several instances, share logouts through your own store instead.
 */
export class SessionRevocations implements RevocationChecker {
  readonly #sessions = new Map<string, number>();
  readonly #subjects = new Map<string, { revokedAtSec: number; expiresAtMs: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(options: SessionRevocationsOptions = {}) {
    this.#ttlMs = (options.ttlSec ?? 1_200) * 1000;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /** Records a back-channel logout event (the shape `onLogout` receives). */
  record(event: { sid?: string | null; sub?: string | null }): void {
    if (event.sid) this.revokeSession(event.sid);
    else if (event.sub) this.revokeUser(event.sub);
  }

  revokeSession(sid: string): void {
    this.#sessions.delete(sid);
    this.#sessions.set(sid, Date.now() + this.#ttlMs);
    this.#bound(this.#sessions);
  }

  /** Revokes every token of `sub` issued at or before now. */
  revokeUser(sub: string): void {
    this.#subjects.delete(sub);
    this.#subjects.set(sub, { revokedAtSec: Math.floor(Date.now() / 1000), expiresAtMs: Date.now() + this.#ttlMs });
    this.#bound(this.#subjects);
  }

  isRevoked(identity: RampartIdentity): boolean {
    const now = Date.now();
    if (identity.sessionId) {
      const until = this.#sessions.get(identity.sessionId);
      if (until !== undefined) {
        if (until > now) return true;
        this.#sessions.delete(identity.sessionId);
      }
    }
    const user = this.#subjects.get(identity.userId);
    if (user !== undefined) {
      if (user.expiresAtMs <= now) this.#subjects.delete(identity.userId);
      else if (identity.issuedAt.getTime() / 1000 <= user.revokedAtSec) return true;
    }
    return false;
  }

  #bound(map: Map<string, unknown>): void {
    while (map.size > this.#maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
  }
}

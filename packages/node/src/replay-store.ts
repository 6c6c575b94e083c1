/**
 * Remembers logout-token `jti`s so a captured token cannot be replayed. A product with several
 * instances plugs in a shared implementation (e.g. Redis `SET jti 1 NX PXAT expiresAt`).
 */
export interface ReplayStore {
  /**
   * Records `jti` until `expiresAtMs` (epoch milliseconds). Resolves to true when it was new, false
   * when it was already recorded and not yet expired. Must be atomic across instances.
   */
  claim(jti: string, expiresAtMs: number): boolean | Promise<boolean>;
  /** Forgets `jti` (the logout it carried failed, so the issuer's retry must be accepted). */
  release?(jti: string): void | Promise<void>;
}

/** An in-process ReplayStore bounded by expiry and by `maxEntries` (oldest dropped first). */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    if (!(this.#maxEntries >= 1)) throw new TypeError('maxEntries must be at least 1');
  }

  get size(): number {
    return this.#seen.size;
  }

  claim(jti: string, expiresAtMs: number): boolean {
    const now = Date.now();
    const known = this.#seen.get(jti);
    if (known !== undefined && known > now) return false;
    if (known !== undefined) this.#seen.delete(jti);
    if (this.#seen.size >= this.#maxEntries) this.#prune(now);
    this.#seen.set(jti, expiresAtMs);
    return true;
  }

  release(jti: string): void {
    this.#seen.delete(jti);
  }

  #prune(now: number): void {
    for (const [jti, expiresAt] of this.#seen) {
      if (expiresAt <= now) this.#seen.delete(jti);
    }
    // Still full: drop the oldest entries. Their tokens are past the iat age limit or soon will be.
    for (const jti of this.#seen.keys()) {
      if (this.#seen.size < this.#maxEntries) break;
      this.#seen.delete(jti);
    }
  }
}

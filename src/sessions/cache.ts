/**
 * Authenticated sessions kept in this process, so a busy session costs no query. Entries are
 * dropped the moment the events channel says so (revocation on any instance), never by a timer:
 * a time-to-live would let a revoked session live on for that long.
 */
export class SessionCache<V extends { userId: string }> {
  private readonly entries = new Map<string, V>();
  private readonly byUser = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a load that started before one must not be cached after it. */
  private generation = 0;

  constructor(private readonly maxEntries = 10_000) {}

  get(tokenHash: string): V | undefined {
    return this.entries.get(tokenHash);
  }

  mark(): number {
    return this.generation;
  }

  /** Caches a value loaded from the database, unless an invalidation arrived while it loaded. */
  set(tokenHash: string, value: V, loadedAt: number): void {
    if (loadedAt !== this.generation) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    this.entries.set(tokenHash, value);
    let set = this.byUser.get(value.userId);
    if (!set) this.byUser.set(value.userId, (set = new Set()));
    set.add(tokenHash);
  }

  update(tokenHash: string, value: V): void {
    if (this.entries.has(tokenHash)) this.entries.set(tokenHash, value);
  }

  delete(tokenHash: string): void {
    this.generation++;
    const value = this.entries.get(tokenHash);
    this.entries.delete(tokenHash);
    if (value) this.byUser.get(value.userId)?.delete(tokenHash);
  }

  deleteUser(userId: string): void {
    this.generation++;
    for (const hash of this.byUser.get(userId) ?? []) this.entries.delete(hash);
    this.byUser.delete(userId);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.byUser.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

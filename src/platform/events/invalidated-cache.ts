import type { EventBus } from './bus.js';

const ENTRY = 's:';
const GROUP = 'u:';
/** An invalidation message: one entry by its key, or every entry of a group (a user's sessions). */
export const entryMessage = (key: string) => `${ENTRY}${key}`;
export const groupMessage = (group: string) => `${GROUP}${group}`;

export interface InvalidatedCacheOptions<V> {
  bus: EventBus;
  channel: string;
  /** Entries that a group message drops together. */
  groupOf?: (value: V) => string;
  maxEntries?: number;
  onError?: (err: unknown) => void;
}

/**
 * Values loaded from the database and kept in this process, so a busy credential costs no query.
 * Entries are dropped the moment the events channel says so (a revocation on any instance), never
 * by a timer: a time-to-live would let a revoked credential live on for that long. Nothing is kept
 * until the subscription stands, and everything is dropped when the bus reconnects (messages sent
 * meanwhile are lost).
 */
export class InvalidatedCache<V> {
  private readonly entries = new Map<string, V>();
  private readonly groups = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a load that started before one must not be cached after it. */
  private generation = 0;
  private subscribed = false;
  private closed = false;
  private subscription: Promise<(() => Promise<void>) | undefined> = Promise.resolve(undefined);
  private readonly maxEntries: number;

  constructor(private readonly opts: InvalidatedCacheOptions<V>) {
    this.maxEntries = opts.maxEntries ?? 10_000;
    opts.bus.onReconnect(() => this.clear());
    this.subscribe();
  }

  private subscribe(): void {
    this.subscription = this.opts.bus
      .subscribe(this.opts.channel, (message) => this.receive(message))
      .then(
        (unsubscribe) => {
          this.subscribed = true;
          return unsubscribe;
        },
        (err: unknown) => {
          // Until subscribed nothing is cached, so waiting costs queries, not safety.
          this.opts.onError?.(err);
          if (!this.closed) setTimeout(() => this.subscribe(), 1000).unref();
          return undefined;
        },
      );
  }

  private receive(message: string): void {
    if (message.startsWith(GROUP)) this.dropGroup(message.slice(GROUP.length));
    else if (message.startsWith(ENTRY)) this.drop(message.slice(ENTRY.length));
  }

  /** The kept value, or the one `load` reads now (kept unless an invalidation arrived meanwhile). */
  async getOrLoad(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const kept = this.entries.get(key);
    if (kept !== undefined) return kept;
    const loadedAt = this.generation;
    const value = await load();
    if (value !== undefined) this.keep(key, value, loadedAt);
    return value;
  }

  /** Keeps a value loaded from the database, unless an invalidation arrived while it loaded or none could reach it. */
  private keep(key: string, value: V, loadedAt: number): void {
    if (!this.subscribed || loadedAt !== this.generation) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.entries.set(key, value);
    const group = this.opts.groupOf?.(value);
    if (group === undefined) return;
    let keys = this.groups.get(group);
    if (!keys) {
      keys = new Set();
      this.groups.set(group, keys);
    }
    keys.add(key);
  }

  /** Replaces a kept value after a write of this instance (a touch); absent entries stay absent. */
  update(key: string, value: V): void {
    if (this.entries.has(key)) this.entries.set(key, value);
  }

  /** Forgets an entry here only (it expired). */
  drop(key: string): void {
    this.generation++;
    const value = this.entries.get(key);
    this.entries.delete(key);
    if (value !== undefined) {
      const group = this.opts.groupOf?.(value);
      if (group !== undefined) this.groups.get(group)?.delete(key);
    }
  }

  private dropGroup(group: string): void {
    this.generation++;
    for (const key of this.groups.get(group) ?? []) this.entries.delete(key);
    this.groups.delete(group);
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
    this.groups.clear();
  }

  /**
   * Tells every instance (this one included) to forget; resolves once the message came back from
   * the server. Send it after the change committed: earlier, another instance could reload the old row.
   */
  async broadcast(message: string): Promise<void> {
    await this.opts.bus.publish(this.opts.channel, message);
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await (await this.subscription)?.();
  }
}

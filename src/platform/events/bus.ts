import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Invalidation pub/sub between Rampart processes (S3: a revocation takes effect at once on every
 * instance). `publish` resolves only once this bus's own subscriber connection has received the
 * message back from the server; by then the server has sent it to every other subscribed instance.
 */
export interface EventBus {
  readonly kind: 'memory' | 'postgres' | 'redis';
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** Called after a lost subscriber connection is back: messages sent meanwhile are gone, so drop caches. */
  onReconnect(listener: () => void): void;
}

export interface BusOptions {
  /** How long publish waits for its own echo, and subscribe for the server, before rejecting (default 5000). */
  echoTimeoutMs?: number;
  /** Connection problems, handler exceptions, foreign messages on our channels: log them. */
  onError?: (err: Error) => void;
  /**
   * After the subscriber connection was lost and is back. Messages sent meanwhile are lost, so
   * whatever the bus keeps fresh (caches) must be dropped here.
   */
  onReconnect?: () => void;
}

export class EventBusError extends Error {
  override name = 'EventBusError';
}

const CHANNEL = /^[a-z][a-z0-9_]{0,62}$/;
/** PostgreSQL's NOTIFY limit (payload shorter than 8000 bytes), applied to every kind so they behave alike. */
export const MAX_PAYLOAD_BYTES = 7999;

/** What a kind provides: delivery of raw payloads; the envelope, echo and handlers are shared. */
interface Transport {
  listen(channel: string): Promise<void>;
  unlisten(channel: string): Promise<void>;
  send(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

type Deliver = (channel: string, payload: string) => void;
type Reconnected = () => void;

export function createEventBus(opts: { redisUrl?: string; databaseUrl?: string } & BusOptions): EventBus {
  if (opts.redisUrl) return createRedisBus(opts.redisUrl, opts);
  if (opts.databaseUrl) return createPostgresBus(opts.databaseUrl, opts);
  // The embedded database serves one process only, so in-process delivery is all that is needed.
  return createMemoryBus(undefined, opts);
}

/** In-process delivery. Buses given the same emitter see each other (tests of two instances). */
export function createMemoryBus(emitter: EventEmitter = new EventEmitter(), opts: BusOptions = {}): EventBus {
  return makeBus('memory', opts, (deliver) => {
    emitter.on('message', deliver);
    return {
      listen: async () => {},
      unlisten: async () => {},
      send: async (channel, payload) => {
        emitter.emit('message', channel, payload);
      },
      close: async () => {
        emitter.off('message', deliver);
      },
    };
  });
}

export function createPostgresBus(connectionString: string, opts: BusOptions = {}): EventBus {
  const onError = opts.onError ?? (() => {});
  return makeBus('postgres', opts, (deliver, reconnected) => {
    const publisher = new pg.Pool({ connectionString, max: 2 });
    publisher.on('error', onError);
    const channels = new Set<string>();
    let listener: pg.Client | undefined;
    let connecting: Promise<pg.Client> | undefined;
    let closed = false;
    let everConnected = false;
    let wake: (() => void) | undefined;

    // One dedicated connection holds every LISTEN; if it drops, reconnect with backoff and LISTEN again.
    function connect(): Promise<pg.Client> {
      connecting ??= (async () => {
        for (let delayMs = 100; ; delayMs = Math.min(delayMs * 2, 5000)) {
          if (closed) throw new EventBusError('the event bus is closed');
          const client = new pg.Client({ connectionString, keepAlive: true, connectionTimeoutMillis: 5000 });
          client.on('notification', (n) => {
            if (n.payload !== undefined) deliver(n.channel, n.payload);
          });
          client.on('error', (err) => {
            onError(err);
            lost(client);
          });
          client.on('end', () => lost(client));
          try {
            await client.connect();
            for (const channel of channels) await client.query(`listen ${ident(channel)}`);
            if (closed) throw new EventBusError('the event bus is closed');
            listener = client;
            if (everConnected) reconnected();
            everConnected = true;
            return client;
          } catch (err) {
            client.end().catch(() => {});
            if (closed) throw err;
            onError(err as Error);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, delayMs);
              timer.unref();
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        }
      })().finally(() => {
        connecting = undefined;
      });
      return connecting;
    }

    function lost(client: pg.Client): void {
      if (listener !== client) return;
      listener = undefined;
      if (!closed) connect().catch(() => {});
    }

    return {
      async listen(channel) {
        channels.add(channel);
        // LISTEN again even after a fresh connect: the channel may have been added after its LISTEN loop.
        await (listener ?? (await connect())).query(`listen ${ident(channel)}`);
      },
      async unlisten(channel) {
        channels.delete(channel);
        await listener?.query(`unlisten ${ident(channel)}`);
      },
      async send(channel, payload) {
        await publisher.query('select pg_notify($1, $2)', [channel, payload]);
      },
      async close() {
        closed = true;
        wake?.();
        await connecting?.catch(() => {});
        await Promise.all([listener?.end(), publisher.end()]);
        listener = undefined;
      },
    };
  });
}

export function createRedisBus(url: string, opts: BusOptions = {}): EventBus {
  const onError = opts.onError ?? (() => {});
  return makeBus('redis', opts, (deliver, reconnected) => {
    // A connection in subscriber mode can run no other command, hence two. ioredis reconnects and
    // subscribes again by itself.
    const subscriber = new Redis(url);
    const publisher = new Redis(url);
    subscriber.on('error', onError);
    publisher.on('error', onError);
    subscriber.on('message', deliver);
    let everReady = false;
    subscriber.on('ready', () => {
      if (everReady) reconnected();
      everReady = true;
    });
    return {
      listen: async (channel) => {
        await subscriber.subscribe(channel);
      },
      unlisten: async (channel) => {
        await subscriber.unsubscribe(channel);
      },
      send: async (channel, payload) => {
        await publisher.publish(channel, payload);
      },
      close: async () => {
        await Promise.all([subscriber, publisher].map(quit));
      },
    };
  });
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

function makeBus(
  kind: EventBus['kind'],
  opts: BusOptions,
  connect: (deliver: Deliver, reconnected: Reconnected) => Transport,
): EventBus {
  const echoTimeoutMs = opts.echoTimeoutMs ?? 5000;
  const onError = opts.onError ?? (() => {});
  const handlers = new Map<string, Set<(message: string) => void>>();
  const pending = new Map<string, Pending>();
  // A channel is listened to while it has handlers or a publish awaits its echo there.
  const users = new Map<string, number>();
  const listening = new Map<string, Promise<void>>();
  let closed = false;
  const reconnectListeners = new Set<() => void>();
  const reconnected = () => {
    opts.onReconnect?.();
    for (const listener of reconnectListeners) listener();
  };

  const transport = connect((channel, payload) => {
    const envelope = parse(payload);
    if (!envelope) {
      onError(new EventBusError(`ignored a message on channel ${channel} that Rampart did not send`));
      return;
    }
    for (const handler of [...(handlers.get(channel) ?? [])]) {
      try {
        handler(envelope.message);
      } catch (err) {
        onError(err as Error);
      }
    }
    pending.get(envelope.id)?.resolve();
  }, reconnected);

  function hold(channel: string): Promise<void> {
    const count = users.get(channel) ?? 0;
    users.set(channel, count + 1);
    if (count === 0) listening.set(channel, transport.listen(channel));
    return listening.get(channel)!;
  }

  async function release(channel: string): Promise<void> {
    const count = (users.get(channel) ?? 1) - 1;
    if (count > 0) {
      users.set(channel, count);
      return;
    }
    users.delete(channel);
    listening.delete(channel);
    if (!closed) await transport.unlisten(channel);
  }

  function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EventBusError(`${what}: no answer from the ${kind} server within ${echoTimeoutMs} ms`)),
        echoTimeoutMs,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  function check(channel: string): void {
    if (closed) throw new EventBusError('the event bus is closed');
    if (!CHANNEL.test(channel)) throw new EventBusError(`channel name "${channel}" must match ${CHANNEL}`);
  }

  return {
    kind,
    onReconnect(listener) {
      reconnectListeners.add(listener);
    },
    async publish(channel, message) {
      check(channel);
      const id = randomBytes(12).toString('base64url');
      const payload = JSON.stringify({ id, message });
      const bytes = Buffer.byteLength(payload, 'utf8');
      if (bytes > MAX_PAYLOAD_BYTES) {
        throw new EventBusError(
          `message too large for channel ${channel}: ${bytes} bytes with its envelope, the limit is ` +
            `${MAX_PAYLOAD_BYTES} (send an id, not the data)`,
        );
      }
      const echoed = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
      echoed.catch(() => {}); // awaited below unless hold() or send() fails first
      try {
        await withTimeout(
          (async () => {
            await hold(channel);
            await transport.send(channel, payload);
            await echoed;
          })(),
          `publish on ${channel}`,
        );
      } finally {
        pending.delete(id);
        release(channel).catch(onError);
      }
    },
    async subscribe(channel, handler) {
      check(channel);
      const set = handlers.get(channel) ?? new Set();
      handlers.set(channel, set);
      // A wrapper, so that subscribing the same function twice gives two independent subscriptions.
      const own = (message: string) => handler(message);
      set.add(own);
      try {
        await withTimeout(hold(channel), `subscribe to ${channel}`);
      } catch (err) {
        set.delete(own);
        await release(channel).catch(onError);
        throw err;
      }
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        set.delete(own);
        await release(channel);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const p of pending.values())
        p.reject(new EventBusError('the event bus was closed before the echo came back'));
      handlers.clear();
      await transport.close();
    },
  };
}

function parse(payload: string): { id: string; message: string } | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    if (
      typeof value === 'object' &&
      value !== null &&
      'id' in value &&
      'message' in value &&
      typeof value.id === 'string' &&
      typeof value.message === 'string'
    ) {
      return { id: value.id, message: value.message };
    }
  } catch {
    // not ours
  }
  return undefined;
}

function ident(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}

/** QUIT waits behind queued commands, which never run while Redis is unreachable: then just drop the connection. */
async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  await client.quit().catch(() => client.disconnect());
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createEventBus,
  createMemoryBus,
  createPostgresBus,
  createRedisBus,
  EventBusError,
  MAX_PAYLOAD_BYTES,
  type EventBus,
} from './bus.js';

const redisUrl = process.env.REDIS_URL || undefined;
const databaseUrl = process.env.DATABASE_URL || undefined;

const memoryHub = new EventEmitter();
const kinds: { kind: EventBus['kind']; make: () => EventBus }[] = [
  { kind: 'memory', make: () => createMemoryBus(memoryHub) },
];
if (databaseUrl) kinds.push({ kind: 'postgres', make: () => createPostgresBus(databaseUrl) });
if (redisUrl) kinds.push({ kind: 'redis', make: () => createRedisBus(redisUrl) });

// Unique per run, so concurrent CI jobs on one server never see each other's messages.
const run = randomBytes(4).toString('hex');
let n = 0;
const channel = () => `test_${run}_${++n}`;

const opened: EventBus[] = [];
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
});
function open(make: () => EventBus): EventBus {
  const bus = make();
  opened.push(bus);
  return bus;
}

/** Resolves when `check` holds, polling every millisecond; rejects after `ms`. */
async function within(ms: number, check: () => boolean): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await sleep(1);
  }
}

describe.each(kinds)('event bus ($kind)', ({ kind, make }) => {
  const a = open(make);
  const b = open(make);

  it(
    `[S3] ${kind}: once publish resolves, the publisher's and the other instance's handlers have the ` + `message`,
    async () => {
      const ch = channel();
      const gotA: string[] = [];
      const gotB: string[] = [];
      let bAt = 0;
      await a.subscribe(ch, (m) => gotA.push(m));
      await b.subscribe(ch, (m) => {
        gotB.push(m);
        bAt = performance.now();
      });
      const rounds = 200;
      let late = 0;
      let maxLagMs = 0;
      for (let i = 0; i < rounds; i++) {
        const message = `revoke session ${i}`;
        await a.publish(ch, message);
        const resolvedAt = performance.now();
        expect(gotA.at(-1)).toBe(message);
        if (gotB.at(-1) !== message) {
          late++;
          await within(100, () => gotB.at(-1) === message);
          maxLagMs = Math.max(maxLagMs, bAt - resolvedAt);
        }
      }
      expect(gotA).toHaveLength(rounds);
      expect(gotB).toHaveLength(rounds);
      console.log(
        `[S3] ${kind}: the other instance had the message when publish resolved in ${rounds - late}/${rounds} ` +
          `publishes; worst lag of the other instance after publish resolved: ${maxLagMs.toFixed(2)} ms`,
      );
      // In one process the two subscriber sockets are read in either order; across processes the
      // guarantee is that the server has sent the message to every subscriber before our echo.
      if (kind === 'memory') expect(late).toBe(0);
    },
  );

  it(`[S3] ${kind}: publish resolves with no subscriber anywhere`, async () => {
    await a.publish(channel(), 'nobody listens');
  });

  it(`[S3] ${kind}: unsubscribe stops delivery to that handler only`, async () => {
    const ch = channel();
    const gotA: string[] = [];
    const gotB: string[] = [];
    const gotB2: string[] = [];
    await a.subscribe(ch, (m) => gotA.push(m));
    const unsubscribe = await b.subscribe(ch, (m) => gotB.push(m));
    await b.subscribe(ch, (m) => gotB2.push(m));
    await a.publish(ch, 'one');
    await within(100, () => gotB.length === 1 && gotB2.length === 1);
    await unsubscribe();
    await unsubscribe();
    await a.publish(ch, 'two');
    await within(100, () => gotB2.length === 2);
    await sleep(20);
    expect(gotA).toEqual(['one', 'two']);
    expect(gotB).toEqual(['one']);
  });

  it(`[S3] ${kind}: messages with unicode, quotes and control characters arrive unchanged`, async () => {
    const ch = channel();
    const got: string[] = [];
    await b.subscribe(ch, (m) => got.push(m));
    const messages = [
      'Zoë 🔐 日本語 مرحبا',
      '{"id":"fake","message":"x"}',
      'it\'s "quoted" \\ back',
      'nul\u0000 tab\t newline\n',
      'lone \ud800 surrogate',
      '',
    ];
    for (const m of messages) await a.publish(ch, m);
    await within(100, () => got.length === messages.length);
    expect(got).toEqual(messages);
  });

  it(`[S3] ${kind}: invalid channel names are refused`, async () => {
    for (const bad of ['', 'Sessions', '1abc', 'a-b', 'a b', 'a"; drop table x; --', `a${'b'.repeat(63)}`, 'é']) {
      await expect(a.publish(bad, 'x')).rejects.toThrow(EventBusError);
      await expect(a.subscribe(bad, () => {})).rejects.toThrow(/channel name/);
    }
    await a.publish(`a${'b'.repeat(62)}`, 'longest name');
  });

  it(`[S3] ${kind}: payloads over the NOTIFY limit are refused, up to the limit they pass`, async () => {
    const ch = channel();
    const got: string[] = [];
    await b.subscribe(ch, (m) => got.push(m));
    const overhead = JSON.stringify({ id: 'x'.repeat(16), message: '' }).length;
    const largest =
      'é'.repeat((MAX_PAYLOAD_BYTES - overhead - 1) / 2) + 'a'.repeat((MAX_PAYLOAD_BYTES - overhead) % 2 === 1 ? 1 : 0);
    expect(Buffer.byteLength(largest) + overhead).toBe(MAX_PAYLOAD_BYTES);
    await a.publish(ch, largest);
    await within(100, () => got.length === 1);
    expect(got[0]).toBe(largest);
    await expect(a.publish(ch, `${largest}a`)).rejects.toThrow(/too large/);
  });

  it(`[S3] ${kind}: a throwing handler does not stop the others`, async () => {
    const errors: Error[] = [];
    const bus = open(() =>
      kind === 'memory'
        ? createMemoryBus(memoryHub, { onError: (e) => errors.push(e) })
        : kind === 'postgres'
          ? createPostgresBus(databaseUrl!, { onError: (e) => errors.push(e) })
          : createRedisBus(redisUrl!, { onError: (e) => errors.push(e) }),
    );
    const ch = channel();
    const got: string[] = [];
    await bus.subscribe(ch, () => {
      throw new Error('handler bug');
    });
    await bus.subscribe(ch, (m) => got.push(m));
    await bus.publish(ch, 'still delivered');
    expect(got).toEqual(['still delivered']);
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
  });
});

describe.runIf(databaseUrl)('postgres event bus connection loss', () => {
  it('[S3] postgres: a dropped listener connection comes back, listens again and reports it', async () => {
    let reconnects = 0;
    const bus = open(() => createPostgresBus(databaseUrl!, { onReconnect: () => reconnects++ }));
    const other = open(() => createPostgresBus(databaseUrl!));
    const ch = channel();
    const got: string[] = [];
    await bus.subscribe(ch, (m) => got.push(m));
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where query = $1', [
        `listen "${ch}"`,
      ]);
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await within(3000, () => reconnects === 1);
    await other.publish(ch, 'after the reconnect');
    await within(100, () => got.includes('after the reconnect'));
  });
});

describe('event bus without a server', () => {
  it('[S3] createEventBus picks Redis, then Postgres, then memory', async () => {
    const memory = open(() => createEventBus({}));
    expect(memory.kind).toBe('memory');
    const postgres = open(() => createEventBus({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' }));
    expect(postgres.kind).toBe('postgres');
    const redis = open(() =>
      createEventBus({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', redisUrl: 'redis://127.0.0.1:1' }),
    );
    expect(redis.kind).toBe('redis');
  });

  it('[S3] publish rejects when the server does not echo in time (the caller decides)', async () => {
    const postgres = open(() => createPostgresBus('postgres://postgres@127.0.0.1:1/none', { echoTimeoutMs: 200 }));
    const redis = open(() => createRedisBus('redis://127.0.0.1:1', { echoTimeoutMs: 200 }));
    await expect(postgres.publish('sessions', 'x')).rejects.toThrow(/within 200 ms/);
    await expect(redis.publish('sessions', 'x')).rejects.toThrow(/within 200 ms/);
    await expect(postgres.subscribe('sessions', () => {})).rejects.toThrow(EventBusError);
  });

  it('[S3] a closed bus refuses work', async () => {
    const bus = createMemoryBus();
    await bus.close();
    await expect(bus.publish('sessions', 'x')).rejects.toThrow(/closed/);
  });
});

describe('event bus close', () => {
  it('[S3] close() releases every connection: a process that used each bus exits by itself', async () => {
    const busUrl = new URL('./bus.ts', import.meta.url).href;
    const script = `
      import { createMemoryBus, createPostgresBus, createRedisBus } from ${JSON.stringify(busUrl)};
      const buses = [createMemoryBus()];
      if (process.env.DATABASE_URL) buses.push(createPostgresBus(process.env.DATABASE_URL));
      if (process.env.REDIS_URL) buses.push(createRedisBus(process.env.REDIS_URL));
      for (const bus of buses) {
        await bus.subscribe('exit_check', () => {});
        await bus.publish('exit_check', 'bye');
        await bus.close();
      }
      console.log('closed ' + buses.map((b) => b.kind).join(','));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        timeout: 20_000,
      },
    );
    expect(stdout.trim()).toBe(
      `closed ${['memory', databaseUrl && 'postgres', redisUrl && 'redis'].filter(Boolean).join(',')}`,
    );
  });
});

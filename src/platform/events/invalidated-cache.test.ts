import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus, createPostgresBus, type EventBus } from './bus.js';
import { entryMessage, groupMessage, InvalidatedCache } from './invalidated-cache.js';

type Entry = { owner: string; n: number };
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** Two instances of one deployment: two buses on one in-process hub, a cache on each. */
function instances(): [InvalidatedCache<Entry>, InvalidatedCache<Entry>, EventBus] {
  const hub = new EventEmitter();
  const [a, b] = [createMemoryBus(hub), createMemoryBus(hub)];
  const caches = [a, b].map(
    (bus) => new InvalidatedCache<Entry>({ bus, channel: 'test_invalidated', groupOf: (v) => v.owner }),
  );
  open.push(...caches, a, b);
  return [caches[0]!, caches[1]!, a];
}
const subscribed = () => new Promise((resolve) => setImmediate(resolve));

/** Whether reading `key` went to the loader (true) or found it kept (false). */
async function loaded(
  cache: InvalidatedCache<Entry>,
  key: string,
  owner = 'u',
  during?: () => Promise<void>,
): Promise<boolean> {
  let called = false;
  await cache.getOrLoad(key, async () => {
    called = true;
    await during?.();
    return { owner, n: 1 };
  });
  return called;
}

describe('invalidated cache (S3)', () => {
  it('[S3] keeps nothing while it cannot subscribe (a revocation could not reach the entry)', async () => {
    const unreachable = createPostgresBus('postgres://postgres@127.0.0.1:1/none', { echoTimeoutMs: 200 });
    const cache = new InvalidatedCache<Entry>({ bus: unreachable, channel: 'test_invalidated' });
    open.push(cache, unreachable);
    expect([await loaded(cache, 'k'), await loaded(cache, 'k')]).toEqual([true, true]);
    const [subscribedCache] = instances();
    await subscribed();
    expect([await loaded(subscribedCache, 'k'), await loaded(subscribedCache, 'k')]).toEqual([true, false]);
  });

  it('[S3] an entry dropped by another instance is gone here once broadcast resolves', async () => {
    const [here, there] = instances();
    await subscribed();
    await loaded(here, 'k');
    await loaded(here, 'other');
    await there.broadcast(entryMessage('k'));
    expect([await loaded(here, 'k'), await loaded(here, 'other')]).toEqual([true, false]);
  });

  it('[S3] a group message drops every entry of that group only', async () => {
    const [here, there] = instances();
    await subscribed();
    for (const key of ['a', 'b']) await loaded(here, key, 'u');
    await loaded(here, 'c', 'v');
    await there.broadcast(groupMessage('u'));
    expect([await loaded(here, 'a'), await loaded(here, 'b'), await loaded(here, 'c', 'v')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('[S3] a value loaded while an invalidation arrived is not kept (it may be the revoked row)', async () => {
    const [here, there] = instances();
    await subscribed();
    expect(await loaded(here, 'k', 'u', () => there.broadcast(entryMessage('unrelated')))).toBe(true);
    expect(await loaded(here, 'k')).toBe(true);
    expect(await loaded(here, 'k')).toBe(false);
  });

  it('[S3] past its size, the oldest entry makes room', async () => {
    const bus = createMemoryBus();
    const cache = new InvalidatedCache<Entry>({ bus, channel: 'test_invalidated', maxEntries: 2 });
    open.push(cache, bus);
    await subscribed();
    for (const key of ['a', 'b', 'c']) await loaded(cache, key);
    expect(cache.size).toBe(2);
    expect([await loaded(cache, 'c'), await loaded(cache, 'a')]).toEqual([false, true]);
  });
});

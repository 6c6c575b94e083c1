import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus, type EventBus } from './bus.js';
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
  const caches = [a, b].map((bus) => new InvalidatedCache<Entry>({ bus, channel: 'test_invalidated', groupOf: (v) => v.owner }));
  open.push(...caches, a, b);
  return [caches[0]!, caches[1]!, a];
}
const subscribed = () => new Promise((resolve) => setImmediate(resolve));

describe('invalidated cache (S3)', () => {
  it('[S3] keeps nothing until its subscription stands', async () => {
    const [cache] = instances();
    cache.set('k', { owner: 'u', n: 1 }, cache.mark());
    expect(cache.get('k')).toBeUndefined();
    await subscribed();
    cache.set('k', { owner: 'u', n: 1 }, cache.mark());
    expect(cache.get('k')).toEqual({ owner: 'u', n: 1 });
  });

  it('[S3] an entry dropped by another instance is gone here once broadcast resolves', async () => {
    const [here, there] = instances();
    await subscribed();
    here.set('k', { owner: 'u', n: 1 }, here.mark());
    here.set('other', { owner: 'v', n: 2 }, here.mark());
    await there.broadcast(entryMessage('k'));
    expect(here.get('k')).toBeUndefined();
    expect(here.get('other')).toBeDefined();
  });

  it('[S3] a group message drops every entry of that group only', async () => {
    const [here, there] = instances();
    await subscribed();
    for (const key of ['a', 'b']) here.set(key, { owner: 'u', n: 1 }, here.mark());
    here.set('c', { owner: 'v', n: 1 }, here.mark());
    await there.broadcast(groupMessage('u'));
    expect([here.get('a'), here.get('b'), here.get('c')]).toEqual([undefined, undefined, { owner: 'v', n: 1 }]);
  });

  it('[S3] a value loaded before an invalidation arrived is not kept (it may be the revoked row)', async () => {
    const [here, there] = instances();
    await subscribed();
    const mark = here.mark();
    await there.broadcast(entryMessage('unrelated'));
    here.set('k', { owner: 'u', n: 1 }, mark);
    expect(here.get('k')).toBeUndefined();
  });

  it('[S3] past its size, the oldest entry makes room', async () => {
    const bus = createMemoryBus();
    const cache = new InvalidatedCache<Entry>({ bus, channel: 'test_invalidated', maxEntries: 2 });
    open.push(cache, bus);
    await subscribed();
    for (const key of ['a', 'b', 'c']) cache.set(key, { owner: 'u', n: 1 }, cache.mark());
    expect([cache.get('a'), cache.size]).toEqual([undefined, 2]);
  });
});

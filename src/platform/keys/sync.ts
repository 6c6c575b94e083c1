import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { LiveKeyring } from '../crypto/live-keyring.js';
import type { Tenancy } from '../db/database.js';
import type { EventBus } from '../events/bus.js';
import {
  ensureDecision,
  forgetInstance,
  KEYRING_CHANNEL,
  readDecision,
  RELOAD_INTERVAL_MS,
  reportInstance,
} from './state.js';

/** This instance's side of D3: it keeps the live keyring in step with the key file and the deployment. */
export interface KeyringSync {
  readonly instanceId: string;
  readonly keyring: LiveKeyring;
  /** Re-reads the key file and the decision, then reports what this instance holds. */
  refresh(): Promise<void>;
  /** Asks every instance (this one included) to refresh now. */
  announce(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKeyringSync(deps: {
  db: Tenancy;
  keyring: LiveKeyring;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** Timers off: tests refresh by announcing. */
  timers?: boolean;
}): Promise<KeyringSync> {
  const { db, keyring, bus, clock, logger } = deps;
  const instanceId = randomUUID();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const once = async () => {
    try {
      keyring.reloadFile();
    } catch (err) {
      // The keys already loaded stay in use; a half-written or broken file must not take them away.
      logger.error({ reason: (err as Error).message }, 'could not re-read the master key file');
    }
    const decision = await db.withSystem(async (tx) => {
      const found = await readDecision(tx);
      if (found.current !== null) return found;
      await ensureDecision(tx, keyring.current, clock.now());
      return readDecision(tx);
    });
    keyring.decide(decision);
    if (stopped) return;
    await reportInstance(db, {
      instanceId,
      versions: keyring.held(),
      current: keyring.current,
      source: keyring.source,
      seenAt: clock.now(),
    });
  };
  // One refresh at a time, in order: a message arriving mid-refresh gets a fresh one after it.
  const refresh = () => {
    const next = chain.then(once);
    chain = next.catch((err: unknown) => logger.error({ err }, 'master keyring refresh failed'));
    return next;
  };

  await refresh();
  const unsubscribe = await bus.subscribe(KEYRING_CHANNEL, () => {
    void refresh().catch(() => {});
  });
  const timer =
    deps.timers === false ? undefined : setInterval(() => void refresh().catch(() => {}), RELOAD_INTERVAL_MS);
  timer?.unref();

  return {
    instanceId,
    keyring,
    refresh,
    announce: () => bus.publish(KEYRING_CHANNEL, 'reload'),
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await unsubscribe();
      await chain;
      await forgetInstance(db, instanceId).catch(() => {});
    },
  };
}

import type { Logger } from 'pino';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import type { Database } from '../platform/db/database.js';
import { AppError, OperatorError } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { rewrapAll, type VersionCounts } from '../platform/keys/rewrap.js';
import { type KeyStatus, keyStatus, retire, rotate, type RotationDeps } from '../platform/keys/rotation.js';
import type { SealedValues } from '../platform/keys/sealed.js';
import type { KeyringSync } from '../platform/keys/sync.js';
import { keysError } from './errors.js';

/** What the console shows of the last rotate or rewrap started here. */
export interface KeyOperation {
  kind: 'rotate' | 'rewrap';
  state: 'running' | 'done' | 'failed';
  startedAt: Date;
  finishedAt?: Date;
  done: number;
  total: number;
  /** Plain words for the operator (what it did, or why it failed). */
  message?: string;
  counts?: VersionCounts;
}

export interface KeysService {
  status(): Promise<KeyStatus>;
  /** Starts a rotate or rewrap in the background; its progress is `operation()`. */
  start(kind: 'rotate' | 'rewrap', actor: string, context?: RequestContext): KeyOperation;
  operation(): KeyOperation | undefined;
  /** Waits for the operation running here, if any (tests, shutdown). */
  settled(): Promise<void>;
  retire(version: number, actor: string, context?: RequestContext): Promise<void>;
}

/** The operator's refusals (env keys, a version still in use) are 409s whose detail says why. */
function refusal(err: unknown): never {
  if (err instanceof OperatorError) throw keysError('key_rotation_refused', { message: err.message });
  throw err;
}

export async function auditKeys(
  db: Database,
  clock: Clock,
  action: 'keys.rotated' | 'keys.rewrapped' | 'keys.retired',
  actor: string,
  payload: Record<string, unknown>,
  context?: RequestContext,
): Promise<void> {
  await db.withSystem((tx) =>
    appendAudit(tx, { stream: systemStream, action, actor, target: 'master_keyring', context, payload }, clock),
  );
}

export function createKeysService(deps: {
  db: Database;
  keys: KeyringSync;
  values: readonly SealedValues[];
  clock: Clock;
  background: Background;
  logger: Logger;
}): KeysService {
  const { db, clock } = deps;
  const rotation: RotationDeps = {
    db,
    keyring: deps.keys.keyring,
    values: deps.values,
    clock,
    announce: () => deps.keys.announce(),
  };
  let current: KeyOperation | undefined;
  let running: Promise<void> = Promise.resolve();

  return {
    status: () => keyStatus(rotation),
    operation: () => current,
    settled: () => running,
    start(kind, actor, context) {
      if (current?.state === 'running') throw keysError('key_operation_running');
      if (kind === 'rotate' && deps.keys.keyring.source === 'env') {
        refusal(
          new OperatorError(
            'the master keys come from RAMPART_MASTER_KEYS, which cannot change without a ' +
              'restart: move them to RAMPART_MASTER_KEYS_FILE and restart once to rotate online',
          ),
        );
      }
      const op: KeyOperation = { kind, state: 'running', startedAt: clock.now(), done: 0, total: 0 };
      current = op;
      const work = async () => {
        try {
          if (kind === 'rotate') {
            const r = await rotate(rotation, { timeoutMs: 120_000 });
            op.message = `v${r.version} is current on ${r.instances.length} live instance(s)`;
            await auditKeys(db, clock, 'keys.rotated', actor, { from: r.previous, to: r.version }, context);
          } else {
            const r = await rewrapAll({
              ...rotation,
              onProgress: (p) => {
                op.done = p.done;
                op.total = p.total;
              },
            });
            op.counts = r.counts;
            op.message = `rewrapped ${r.rewrapped} record(s)${r.failed.length ? `; ${r.failed.length} failed` : ''}`;
            await auditKeys(db, clock, 'keys.rewrapped', actor, { rewrapped: r.rewrapped, counts: r.counts }, context);
          }
          op.state = 'done';
        } catch (err) {
          op.state = 'failed';
          op.message = err instanceof OperatorError || err instanceof AppError ? err.message : 'failed: see the log';
          if (!(err instanceof OperatorError)) deps.logger.error({ err }, `key ${kind} failed`);
        } finally {
          op.finishedAt = clock.now();
        }
      };
      running = work();
      deps.background.run(() => running);
      return op;
    },
    async retire(version, actor, context) {
      await retire(rotation, version).catch(refusal);
      await auditKeys(db, clock, 'keys.retired', actor, { version }, context);
    },
  };
}

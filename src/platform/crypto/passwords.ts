import { availableParallelism } from 'node:os';
import { hashRaw, parseOptions, verify as verifyPhc } from '@node-rs/argon2';
import { createSemaphore } from '../concurrency.js';
import { randomToken } from './tokens.js';
import { draw, systemRandom } from './random.js';

export interface PasswordParams {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, first Argon2id option: m=19 MiB, t=2, p=1. */
export const OWASP_PARAMS: PasswordParams = Object.freeze({ memoryKiB: 19456, iterations: 2, parallelism: 1 });

export interface PasswordHasher {
  readonly params: PasswordParams;
  /** How many hashes run at once; the rest queue. */
  readonly concurrency: number;
  /** An Argon2id PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$tag`). */
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed or non-Argon2 hash; never throws. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the hash is not Argon2id or was made with other parameters: rehash on this sign-in. */
  needsRehash(hash: string): boolean;
  /** Spends the time of a real verify and returns false, so unknown accounts answer as slowly as known ones. */
  verifyAgainstDummy(password: string): Promise<false>;
}

const SALT_BYTES = 16;
const TAG_BYTES = 32;
const VERSION = 0x13;
// @node-rs/argon2's enums are ambient const enums (not usable under isolated modules): their values.
const ARGON2ID = 2; // Algorithm.Argon2id
const V0X13 = 1; // Version.V0x13
const ARGON2_PHC = /^\$argon2(?:id|i|d)\$/;

const phcBase64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

function checkParams({ memoryKiB, iterations, parallelism }: PasswordParams): void {
  const whole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  if (!whole(parallelism, 1, 255)) throw new RangeError('Argon2 parallelism must be a whole number from 1 to 255');
  if (!whole(iterations, 1, 2 ** 32 - 1))
    throw new RangeError('Argon2 iterations must be a whole number of at least 1');
  if (!whole(memoryKiB, 8 * parallelism, 2 ** 32 - 1)) {
    throw new RangeError(`Argon2 memory must be a whole number of KiB, at least 8 x parallelism (${8 * parallelism})`);
  }
}

/**
 * Argon2id runs on libuv's threads (UV_THREADPOOL_SIZE, 4 by default), so it never blocks the event
 * loop, but it is CPU-bound: as many hashes as cores starve the event loop of CPU and every other
 * request waits. Measured on 2 cores (OWASP parameters, 8 clients signing in, /healthz probed at
 * 50/s): 1 hash at a time kept the probe's p99 at about 1.5 x idle; 2 at a time gave about 25 %
 * more sign-ins/s but p99 at 2.3-2.5 x idle; 3 or 4 no more sign-ins and p99 at 3-5 x idle. So one
 * core is kept free for serving; sign-ins queue instead (see identity's admit for how many may wait
 * holding a transaction).
 */
export const defaultHashConcurrency = () => Math.max(1, availableParallelism() - 1);

export function createPasswordHasher(
  params: PasswordParams = OWASP_PARAMS,
  concurrency = defaultHashConcurrency(),
): PasswordHasher {
  checkParams(params);
  const slot = createSemaphore(concurrency);
  const current = Object.freeze({ ...params });
  const options = { memoryCost: current.memoryKiB, timeCost: current.iterations, parallelism: current.parallelism };
  let dummy: Promise<string> | undefined;

  // Encoded here rather than by the library: the reference encoding (m,t,p) keeps stored hashes
  // verifiable by libargon2, libsodium and other stacks (the `argon2` package wrote m,p,t).
  const hash = async (password: string) => {
    const salt = draw(systemRandom, SALT_BYTES);
    const tag = await slot(() =>
      hashRaw(password, { ...options, algorithm: ARGON2ID, version: V0X13, outputLen: TAG_BYTES, salt }),
    );
    const { memoryKiB: m, iterations: t, parallelism: p } = current;
    return `$argon2id$v=${VERSION}$m=${m},t=${t},p=${p}$${phcBase64(salt)}$${phcBase64(tag)}`;
  };

  // Parameters come from the stored string, in either order (m,t,p or the `argon2` package's m,p,t).
  const verify = async (stored: string, password: string) => {
    if (typeof stored !== 'string' || !ARGON2_PHC.test(stored)) return false;
    try {
      return await slot(() => verifyPhc(stored, password));
    } catch {
      return false;
    }
  };

  return {
    params: current,
    concurrency,
    hash,
    verify,
    needsRehash(stored) {
      if (typeof stored !== 'string' || !stored.startsWith('$argon2id$')) return true;
      try {
        const o = parseOptions(stored);
        return !(
          o.algorithm === ARGON2ID &&
          o.version === V0X13 &&
          o.memoryCost === current.memoryKiB &&
          o.timeCost === current.iterations &&
          o.parallelism === current.parallelism
        );
      } catch {
        return true;
      }
    },
    async verifyAgainstDummy(password) {
      dummy ??= hash(randomToken()).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
      await verify(await dummy, password);
      return false;
    },
  };
}

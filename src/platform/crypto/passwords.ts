import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
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
const ARGON2_PHC = /^\$argon2(?:id|i|d)\$/;

const phcBase64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

function checkParams({ memoryKiB, iterations, parallelism }: PasswordParams): void {
  const whole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  if (!whole(parallelism, 1, 2 ** 24 - 1))
    throw new RangeError('Argon2 parallelism must be a whole number from 1 to 16777215');
  if (!whole(iterations, 1, 2 ** 32 - 1))
    throw new RangeError('Argon2 iterations must be a whole number of at least 1');
  if (!whole(memoryKiB, 8 * parallelism, 2 ** 32 - 1)) {
    throw new RangeError(`Argon2 memory must be a whole number of KiB, at least 8 x parallelism (${8 * parallelism})`);
  }
}

/**
 * Argon2id runs on libuv's threads, so it never blocks the event loop, but it is CPU-bound: as
 * many hashes as cores would starve the event loop of CPU and every other request would wait.
 * One core is kept free for serving; sign-ins queue instead.
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

  // Encoded here rather than by argon2.hash, which writes m,p,t: the reference encoding (m,t,p) keeps
  // stored hashes verifiable by libargon2, libsodium and other stacks.
  const hash = async (password: string) => {
    const salt = draw(systemRandom, SALT_BYTES);
    const tag = await slot(() =>
      argon2.hash(password, {
        ...options,
        type: argon2.argon2id,
        version: VERSION,
        hashLength: TAG_BYTES,
        salt,
        raw: true,
      }),
    );
    const { memoryKiB: m, iterations: t, parallelism: p } = current;
    return `$argon2id$v=${VERSION}$m=${m},t=${t},p=${p}$${phcBase64(salt)}$${phcBase64(tag)}`;
  };

  const verify = async (stored: string, password: string) => {
    if (typeof stored !== 'string' || !ARGON2_PHC.test(stored)) return false;
    try {
      return await slot(() => argon2.verify(stored, password));
    } catch {
      return false;
    }
  };

  return {
    params: current,
    hash,
    verify,
    needsRehash(stored) {
      if (typeof stored !== 'string' || !stored.startsWith('$argon2id$')) return true;
      try {
        return argon2.needsRehash(stored, { ...options, version: VERSION });
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

import { inspect } from 'node:util';
import { draw, systemRandom, type RandomSource } from './random.js';

const KEY_BYTES = 32;
const MAX_VERSION = 0xffff_ffff; // the envelope header stores the version as a uint32
const BASE64URL = /^[A-Za-z0-9_-]+$/;
// A placeholder, not a real key, so nobody can copy a "valid example" into production.
const EXAMPLE =
  '"v1:<base64url of 32 random bytes>,v2:<...>" ' +
  `(make an entry with: node -e "console.log('v1:'+require('crypto').randomBytes(32).toString('base64url'))")`;

/** Thrown for a bad keyring. Messages name the problem and never contain key material. */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

export interface Keyring {
  readonly current: number;
  versions(): number[];
  /** A copy of the key (callers may wipe it); throws KeyringError if the version is unknown. */
  key(version: number): Buffer;
  /** D3: the error (already reported) for a value sealed under a retired version; undefined when it is not retired. */
  retiredUse?(version: number): Error | undefined;
}

class MasterKeyring implements Keyring {
  readonly #keys: ReadonlyMap<number, Buffer>;
  readonly current: number;

  constructor(keys: ReadonlyMap<number, Buffer>) {
    this.#keys = keys;
    this.current = Math.max(...keys.keys());
  }

  versions(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  key(version: number): Buffer {
    const key = this.#keys.get(version);
    if (!key) throw new KeyringError(`no master key with version v${version} in ${this.toString()}`);
    return Buffer.from(key);
  }

  toString(): string {
    return `Keyring(${this.versions()
      .map((v) => `v${v}`)
      .join(',')}; current v${this.current})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function fail(source: string, problem: string): never {
  throw new KeyringError(`${source}: ${problem}. Expected comma- or newline-separated entries like ${EXAMPLE}`);
}

function isValidVersion(version: number): boolean {
  return Number.isSafeInteger(version) && version >= 1 && version <= MAX_VERSION;
}

/**
 * Parses `v<N>:<base64url>` entries separated by commas or newlines.
 * `source` names where the text came from (env var, file path) in error messages.
 */
export function parseKeyring(text: string, source = 'master keyring (RAMPART_MASTER_KEYS)'): Keyring {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) fail(source, 'no keys found');

  const keys = new Map<number, Buffer>();
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const match = /^v(\d{1,10}):(.*)$/s.exec(entry);
    if (!match) fail(source, `${where} is not of the form v<N>:<key>`);
    const [, digits = '', encoded = ''] = match;
    const version = Number(digits);
    if (!isValidVersion(version))
      fail(source, `${where} has version ${digits}; versions are whole numbers from 1 to ${MAX_VERSION}`);
    if (keys.has(version)) fail(source, `version v${version} appears more than once`);
    const key = Buffer.from(encoded, 'base64url');
    // Re-encoding rejects non-canonical text, where two spellings would decode to one key.
    if (!BASE64URL.test(encoded) || key.toString('base64url') !== encoded) {
      fail(source, `the key for v${version} is not base64url (characters A-Z a-z 0-9 - _, no padding)`);
    }
    if (key.length !== KEY_BYTES)
      fail(source, `the key for v${version} is ${key.length} bytes; it must be exactly ${KEY_BYTES}`);
    keys.set(version, key);
  });
  return new MasterKeyring(keys);
}

/** A new keyring entry `v<version>:<base64url of 32 random bytes>`. */
export function generateMasterKeyEntry(version: number, random: RandomSource = systemRandom): string {
  if (!isValidVersion(version)) throw new KeyringError(`version must be a whole number from 1 to ${MAX_VERSION}`);
  const key = draw(random, KEY_BYTES);
  const entry = `v${version}:${key.toString('base64url')}`;
  key.fill(0);
  return entry;
}

/** The text form of a keyring, validated by parsing it back. */
export function formatKeyring(entries: ReadonlyArray<{ version: number; key: Buffer }>): string {
  const text = [...entries]
    .sort((a, b) => a.version - b.version)
    .map(({ version, key }) => `v${version}:${key.toString('base64url')}`)
    .join(',');
  parseKeyring(text, 'formatKeyring');
  return text;
}

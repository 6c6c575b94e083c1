import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { DecryptError } from './envelope.js';
import { type Keyring, KeyringError, parseKeyring } from './keyring.js';

/** What the deployment says (keyring_state): the version new seals use, and the versions out of use. */
export interface KeyringDecision {
  current: number | null;
  retired: readonly number[];
}

/**
 * D3: a keyring whose versions come from the key file, re-read without a restart, and whose current
 * version is the deployment's decision. It never seals under a version it lacks, nor opens under a
 * retired one.
 */
export interface LiveKeyring extends Keyring {
  /** 'env': RAMPART_MASTER_KEYS, fixed until a restart; 'file': the key file, re-read by reload(). */
  readonly source: 'env' | 'file';
  readonly file: string | undefined;
  /** Every version the key source holds, retired ones included. */
  held(): number[];
  retired(): number[];
  /** Re-reads the key file; a broken file keeps the keys already loaded (and throws, for the caller to log). */
  reloadFile(): void;
  decide(decision: KeyringDecision): void;
}

class Live implements LiveKeyring {
  #keys: Keyring;
  #decision: KeyringDecision = { current: null, retired: [] };
  readonly source: 'env' | 'file';
  readonly file: string | undefined;
  readonly #onRetiredUse: (err: DecryptError) => void;

  constructor(initial: Keyring, file: string | undefined, onRetiredUse: (err: DecryptError) => void) {
    this.#keys = initial;
    this.file = file;
    this.source = file ? 'file' : 'env';
    this.#onRetiredUse = onRetiredUse;
  }

  get current(): number {
    const usable = this.versions();
    const wanted = this.#decision.current;
    if (wanted !== null && usable.includes(wanted)) return wanted;
    // The decided version is not here yet: the highest below it, which the others hold too. A version
    // above the decided one may be a rotation under way, that other instances lack.
    const best = (wanted === null ? usable : usable.filter((n) => n < wanted)).at(-1) ?? usable.at(-1);
    if (best === undefined) throw new KeyringError('every master key version this instance holds is retired');
    return best;
  }

  held(): number[] {
    return this.#keys.versions();
  }

  retired(): number[] {
    return [...this.#decision.retired].sort((a, b) => a - b);
  }

  versions(): number[] {
    return this.held().filter((v) => !this.#decision.retired.includes(v));
  }

  key(version: number): Buffer {
    if (this.#decision.retired.includes(version)) throw new KeyringError(`master key version v${version} is retired`);
    return this.#keys.key(version);
  }

  retiredUse(version: number): DecryptError | undefined {
    if (!this.#decision.retired.includes(version)) return undefined;
    const err = new DecryptError(
      `sealed under master key version v${version}, which is retired: run \`rampart keys rewrap\` before retiring`,
    );
    this.#onRetiredUse(err);
    return err;
  }

  reloadFile(): void {
    if (!this.file) return;
    this.#keys = parseKeyring(readFileSync(this.file, 'utf8'), this.file);
  }

  decide(decision: KeyringDecision): void {
    this.#decision = { current: decision.current, retired: [...decision.retired] };
  }

  toString(): string {
    const retired = this.retired();
    return `LiveKeyring(${this.held()
      .map((v) => `v${v}`)
      .join(',')}; current v${this.current}${retired.length ? `; retired ${retired.map((v) => `v${v}`)}` : ''})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function createLiveKeyring(opts: {
  initial: Keyring;
  /** The key file to re-read; absent when the keys came from RAMPART_MASTER_KEYS itself. */
  file: string | undefined;
  onRetiredUse?: (err: DecryptError) => void;
}): LiveKeyring {
  return new Live(opts.initial, opts.file, opts.onRetiredUse ?? (() => {}));
}

export function isLiveKeyring(keyring: Keyring): keyring is LiveKeyring {
  return keyring instanceof Live;
}

import type { SealedValues } from './sealed.js';
import { subkeyRootSealedValue } from './subkey-root.js';

/** Every value sealed under the master keyring: the platform's subkey root and what each feature declares. */
export function allSealedValues(features: readonly { sealedValues?: readonly SealedValues[] }[]): SealedValues[] {
  const values = [subkeyRootSealedValue, ...features.flatMap((f) => f.sealedValues ?? [])];
  const names = new Set<string>();
  for (const v of values) {
    if (names.has(v.name)) throw new Error(`sealed value "${v.name}" is declared twice`);
    names.add(v.name);
  }
  return values;
}

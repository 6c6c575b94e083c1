import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DecryptError, keyVersionOf, open, seal } from './envelope.js';
import { generateMasterKeyEntry, KeyringError, parseKeyring } from './keyring.js';
import { createLiveKeyring } from './live-keyring.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-live-keyring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('live keyring (D3)', () => {
  it('[D3] seals under the decided version only when it holds it, else the highest below it', () => {
    const file = path.join(dir, 'keys-a');
    writeFileSync(file, `${generateMasterKeyEntry(1)}\n${generateMasterKeyEntry(2)}\n`, { mode: 0o600 });
    const keyring = createLiveKeyring({ initial: parseKeyring(readFileSync(file, 'utf8')), file });
    keyring.decide({ current: 1, retired: [] });
    expect(keyVersionOf(seal(keyring, 'x', {}))).toBe(1); // v2 is a rotation under way: others may lack it
    keyring.decide({ current: 3, retired: [] });
    expect(keyring.current).toBe(2); // v3 is not in this instance's file yet
    writeFileSync(file, `${readFileSync(file, 'utf8')}${generateMasterKeyEntry(3)}\n`);
    keyring.reloadFile();
    expect(keyVersionOf(seal(keyring, 'x', {}))).toBe(3);
  });

  it('[D3] a broken key file keeps the keys already loaded, and the reload says why', () => {
    const file = path.join(dir, 'keys-b');
    writeFileSync(file, `${generateMasterKeyEntry(1)}\n`, { mode: 0o600 });
    const keyring = createLiveKeyring({ initial: parseKeyring(readFileSync(file, 'utf8')), file });
    const sealed = seal(keyring, 'kept', { k: 'v' });
    writeFileSync(file, 'v2:half-written');
    expect(() => keyring.reloadFile()).toThrow(KeyringError);
    expect(open(keyring, sealed, { k: 'v' }).toString()).toBe('kept');
  });

  it('[D3] opening under a retired version fails with an error naming it, reported once per attempt', () => {
    const reported: string[] = [];
    const base = parseKeyring(`${generateMasterKeyEntry(1)},${generateMasterKeyEntry(2)}`);
    const keyring = createLiveKeyring({
      initial: base,
      file: undefined,
      onRetiredUse: (e) => reported.push(e.message),
    });
    keyring.decide({ current: 1, retired: [] });
    const sealed = seal(keyring, 'old', {});
    keyring.decide({ current: 2, retired: [1] });
    expect(() => open(keyring, sealed, {})).toThrow(DecryptError);
    expect(() => open(keyring, sealed, {})).toThrow(/master key version v1, which is retired/);
    expect(reported).toHaveLength(2);
    expect(keyring.versions()).toEqual([2]);
    expect(() => keyring.key(1)).toThrow(/v1 is retired/);
  });
});

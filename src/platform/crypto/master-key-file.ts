import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.js';
import { generateMasterKeyEntry, parseKeyring, type Keyring } from './keyring.js';

export const DEV_KEY_FILE = 'master-keys';

/**
 * The keyring from RAMPART_MASTER_KEYS, or in dev mode one kept in the data directory (mode 0600),
 * generated on first start. Production must bring its own (config refuses to start without one).
 */
export function loadKeyring(
  opts: { masterKeys: string | undefined; dev: boolean; dataDir: string },
  warn: (message: string) => void,
): Keyring {
  if (opts.masterKeys) return parseKeyring(opts.masterKeys, 'RAMPART_MASTER_KEYS');
  if (!opts.dev) throw new Error('RAMPART_MASTER_KEYS is required outside dev mode');
  const file = path.join(opts.dataDir, DEV_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${generateMasterKeyEntry(1)}\n`, { mode: 0o600, flag: 'wx' });
    warn(`generated a development master key in ${file}; production must supply its own RAMPART_MASTER_KEYS`);
  } else if ((statSync(file).mode & 0o077) !== 0) {
    throw new OperatorError(`${file} is readable by other users; run: chmod 600 ${file}`);
  }
  return parseKeyring(readFileSync(file, 'utf8'), file);
}

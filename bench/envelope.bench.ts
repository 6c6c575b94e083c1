import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { generateMasterKeyEntry, open, parseKeyring, seal } from '../src/platform/crypto/index.js';
import { measure, report } from './measure.js';

/** D1: envelope encryption (data key + key wrap) against one plain AES-256-GCM round trip. */
export async function run(): Promise<void> {
  const keyring = parseKeyring(generateMasterKeyEntry(1));
  const plaintext = randomBytes(1024);
  const context = { org: '7d3f8f7e-2b7a-4a7e-9a57-1d2b0f6c9e11', record: 'credential:42' };
  const key = randomBytes(32);

  const baseline = await measure(() => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(c.getAuthTag());
    return Buffer.concat([d.update(ct), d.final()]);
  });
  const subject = await measure(() => open(keyring, seal(keyring, plaintext, context), context));
  report('envelope seal+open, 1 KiB', subject, baseline, 'one AES-256-GCM encrypt+decrypt');
}

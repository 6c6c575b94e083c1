import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { generateMasterKeyEntry } from './platform/crypto/keyring.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('[D3] the defaults give a dev instance on the embedded database with a generated key', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dev: true,
      databaseUrl: undefined,
      masterKeys: undefined,
      tls: undefined,
    });
    expect(config.dataDir).toBe(path.resolve('./data'));
  });

  it('[D3] with DATABASE_URL, dev mode is off by default and a master key is required', () => {
    const found = problems({
      DATABASE_URL: 'postgres://db/rampart',
      SMTP_URL: 'smtps://mail.example.com',
      RAMPART_BASE_URL: 'https://auth.example.com',
    });
    expect(found).toEqual([expect.stringMatching(/^RAMPART_MASTER_KEYS: required in production/)]);
  });

  it('[D3] a bad master key is reported without echoing the key material', () => {
    const bad = 'v1:c2hvcnQta2V5LW1hdGVyaWFs';
    const found = problems({ RAMPART_MASTER_KEYS: bad });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^RAMPART_MASTER_KEYS/);
    expect(found[0]).not.toContain('c2hvcnQta2V5LW1hdGVyaWFs');
  });

  it('[D3] secrets can come from files (NAME_FILE), and not from both places at once', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rampart-config-'));
    const file = path.join(dir, 'keys');
    const entry = generateMasterKeyEntry(3);
    writeFileSync(file, `${entry}\n`);
    expect(loadConfig({ RAMPART_MASTER_KEYS_FILE: file }).masterKeys).toBe(entry);
    expect(problems({ RAMPART_MASTER_KEYS_FILE: file, RAMPART_MASTER_KEYS: entry })).toEqual([
      expect.stringMatching(/either RAMPART_MASTER_KEYS or RAMPART_MASTER_KEYS_FILE/),
    ]);
    expect(problems({ RAMPART_MASTER_KEYS_FILE: path.join(dir, 'missing') })).toEqual([
      expect.stringMatching(/^RAMPART_MASTER_KEYS_FILE: cannot read/),
    ]);
  });

  it('[T2] every invalid value is reported, one line each, with the variable name and an example', () => {
    const found = problems({
      PORT: 'eighty',
      RAMPART_DEV: 'maybe',
      DATABASE_URL: 'mysql://nope',
      REDIS_URL: 'http://cache',
      RAMPART_TLS_CERT: '/nonexistent/cert.pem',
      RAMPART_TRUSTED_PROXIES: '10.0.0.0/8,not-an-ip,192.168.0.0/99',
      SMTP_URL: 'ftp://mail',
      LOG_LEVEL: 'loud',
    });
    const names = found.map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining([
        'PORT',
        'RAMPART_DEV',
        'DATABASE_URL',
        'REDIS_URL',
        'RAMPART_TLS_CERT and RAMPART_TLS_KEY',
        'RAMPART_TRUSTED_PROXIES',
        'SMTP_URL',
        'LOG_LEVEL',
      ]),
    );
    expect(found.filter((p) => p.startsWith('RAMPART_TRUSTED_PROXIES'))).toHaveLength(2);
    for (const p of found) expect(p).toMatch(/example/);
  });

  it('[T2] production needs an https base URL unless it is loopback', () => {
    const base = {
      RAMPART_DEV: 'false',
      RAMPART_MASTER_KEYS: generateMasterKeyEntry(1),
      SMTP_URL: 'smtps://mail.example.com',
    };
    expect(problems({ ...base, RAMPART_BASE_URL: 'http://auth.example.com' })).toEqual([
      expect.stringMatching(/^RAMPART_BASE_URL: must be https/),
    ]);
    expect(problems({ ...base, RAMPART_BASE_URL: 'https://auth.example.com' })).toEqual([]);
    expect(problems({ ...base, RAMPART_BASE_URL: 'http://127.0.0.1:3000' })).toEqual([]);
  });

  it('[X5] production needs SMTP_URL; the dev mailbox is for dev mode only', () => {
    const found = problems({ RAMPART_DEV: 'false', RAMPART_MASTER_KEYS: generateMasterKeyEntry(1) });
    expect(found).toEqual([expect.stringMatching(/^SMTP_URL: required in production/)]);
  });

  it('[platform] a URL with a password is never echoed in an error', () => {
    const found = problems({ DATABASE_URL: 'postgres://user:pa55word@/%%%' });
    expect(found.join('\n')).not.toContain('pa55word');
  });
});

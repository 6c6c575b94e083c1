import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { KeyringError, parseKeyring } from './platform/crypto/keyring.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface Config {
  port: number;
  host: string;
  baseUrl: string;
  databaseUrl: string | undefined;
  databaseRuntimeUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  /** Keyring text (`v1:...`); undefined means "generate one in the data directory" (dev only). */
  masterKeys: string | undefined;
  /** RAMPART_MASTER_KEYS_FILE, when the keys were read from a file (D3: the trust page checks its mode). */
  masterKeysFile: string | undefined;
  tls: TlsFiles | undefined;
  httpRedirectPort: number;
  trustedProxies: string[];
  dev: boolean;
  smtpUrl: string | undefined;
  mailFrom: string;
  dkim: { domain: string; selector: string; privateKey: string } | undefined;
  logLevel: string;
  /** S3: a session ends this many days after sign-in, however active. */
  sessionMaxAgeDays: number;
  /** O6: calls per minute one API key may make. */
  apiKeyRatePerMinute: number;
  /**
   * T3: PEM certificates of private CAs that connection providers' servers use (RAMPART_OUTBOUND_CA_FILE),
   * trusted besides the system's for the vault's calls; certificates are still checked.
   */
  outboundCa: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type Env = Record<string, string | undefined>;

/** Reads NAME, or the file named by NAME_FILE (secret files, D3). */
function secretOrFile(env: Env, name: string, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file) {
    problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      problems.push(
        `${name}_FILE: cannot read the file ${file} (example: ${name}_FILE=/run/secrets/${name.toLowerCase()})`,
      );
      return undefined;
    }
  }
  return direct === '' ? undefined : direct;
}

function parsePort(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) {
    problems.push(`${name}: "${raw}" is not a port number from 0 to 65535 (example: ${name}=${fallback})`);
    return fallback;
  }
  return n;
}

function parsePositiveInt(env: Env, name: string, fallback: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max) {
    problems.push(`${name}: "${raw}" is not a whole number from 1 to ${max} (example: ${name}=${fallback})`);
    return fallback;
  }
  return n;
}

function parseBool(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  problems.push(`${name}: "${env[name]}" is not a boolean (example: ${name}=true or ${name}=false)`);
  return fallback;
}

function parseUrl(
  value: string | undefined,
  name: string,
  protocols: string[],
  example: string,
  problems: string[],
): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (!protocols.includes(url.protocol)) {
      problems.push(
        `${name}: the scheme must be ${protocols.map((p) => p.replace(':', '')).join(' or ')} (example: ` +
          `${name}=${example})`,
      );
      return undefined;
    }
    return value;
  } catch {
    // Never echo the value: URLs may carry passwords.
    problems.push(`${name}: not a valid URL (example: ${name}=${example})`);
    return undefined;
  }
}

function isCidrOrIp(entry: string): boolean {
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const port = parsePort(env, 'PORT', 3000, problems);
  const host = env.HOST || '127.0.0.1';
  const databaseUrl = parseUrl(
    secretOrFile(env, 'DATABASE_URL', problems),
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'postgres://rampart@db.internal:5432/rampart',
    problems,
  );
  const databaseRuntimeUrl = parseUrl(
    secretOrFile(env, 'DATABASE_RUNTIME_URL', problems),
    'DATABASE_RUNTIME_URL',
    ['postgres:', 'postgresql:'],
    'postgres://rampart_runtime:secret@db.internal:5432/rampart',
    problems,
  );
  if (databaseRuntimeUrl && !databaseUrl)
    problems.push(
      'DATABASE_RUNTIME_URL: only meaningful together with DATABASE_URL (example: unset it to use the embedded ' +
        'database)',
    );
  const dev = parseBool(env, 'RAMPART_DEV', databaseUrl === undefined, problems);
  const dataDir = path.resolve(env.RAMPART_DATA_DIR || './data');
  const redisUrl = parseUrl(
    secretOrFile(env, 'REDIS_URL', problems),
    'REDIS_URL',
    ['redis:', 'rediss:'],
    'rediss://cache.internal:6380',
    problems,
  );
  const masterKeys = secretOrFile(env, 'RAMPART_MASTER_KEYS', problems);
  if (masterKeys) {
    try {
      parseKeyring(masterKeys, 'RAMPART_MASTER_KEYS');
    } catch (err) {
      if (!(err instanceof KeyringError)) throw err;
      problems.push(err.message);
    }
  } else if (!dev) {
    problems.push(
      'RAMPART_MASTER_KEYS: required in production (generate one with `rampart keys generate`; example: ' +
        'RAMPART_MASTER_KEYS=v1:<43 base64url characters>)',
    );
  }

  const certFile = env.RAMPART_TLS_CERT || undefined;
  const keyFile = env.RAMPART_TLS_KEY || undefined;
  let tls: TlsFiles | undefined;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) {
      problems.push(
        'RAMPART_TLS_CERT and RAMPART_TLS_KEY: set both or neither (example: ' +
          'RAMPART_TLS_CERT=/etc/rampart/cert.pem RAMPART_TLS_KEY=/etc/rampart/key.pem)',
      );
    } else {
      for (const [name, file] of [
        ['RAMPART_TLS_CERT', certFile],
        ['RAMPART_TLS_KEY', keyFile],
      ] as const) {
        try {
          readFileSync(file);
        } catch {
          problems.push(
            `${name}: cannot read the file ${file} (example: ` +
              `${name}=/etc/rampart/${name === 'RAMPART_TLS_CERT' ? 'cert' : 'key'}.pem)`,
          );
        }
      }
      tls = { certFile, keyFile };
    }
  }
  const httpRedirectPort = parsePort(env, 'RAMPART_HTTP_PORT', 80, problems);

  const scheme = tls ? 'https' : 'http';
  const baseUrl =
    parseUrl(
      env.RAMPART_BASE_URL || `${scheme}://localhost:${port}`,
      'RAMPART_BASE_URL',
      ['http:', 'https:'],
      'https://auth.example.com',
      problems,
    ) ?? `${scheme}://localhost:${port}`;
  if (!dev && baseUrl.startsWith('http:') && !isLoopbackUrl(baseUrl)) {
    problems.push(
      'RAMPART_BASE_URL: must be https:// in production (example: RAMPART_BASE_URL=https://auth.example.com)',
    );
  }

  const trustedProxies = (env.RAMPART_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of trustedProxies) {
    if (!isCidrOrIp(entry))
      problems.push(
        `RAMPART_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range (example: ` +
          `RAMPART_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1)`,
      );
  }

  const smtpUrl = parseUrl(
    secretOrFile(env, 'SMTP_URL', problems),
    'SMTP_URL',
    ['smtp:', 'smtps:'],
    'smtps://user:password@smtp.example.com:465',
    problems,
  );
  if (!smtpUrl && !dev && !env.SMTP_URL && !env.SMTP_URL_FILE)
    problems.push(
      'SMTP_URL: required in production, where the dev mailbox is off (example: ' +
        'SMTP_URL=smtps://user:password@smtp.example.com:465)',
    );
  const mailFrom = env.RAMPART_MAIL_FROM || `Rampart <no-reply@${safeHostname(baseUrl)}>`;
  const dkim = loadDkim(env, problems);

  const sessionMaxAgeDays = parsePositiveInt(env, 'RAMPART_SESSION_MAX_AGE_DAYS', 90, 3650, problems);
  const apiKeyRatePerMinute = parsePositiveInt(env, 'RAMPART_API_KEY_RATE_LIMIT', 600, 1_000_000, problems);

  const outboundCa = loadOutboundCa(env, problems);

  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL: "${logLevel}" is not a level (example: LOG_LEVEL=info)`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    baseUrl,
    databaseUrl,
    databaseRuntimeUrl,
    dataDir,
    redisUrl,
    masterKeys,
    masterKeysFile: masterKeys && env.RAMPART_MASTER_KEYS_FILE ? path.resolve(env.RAMPART_MASTER_KEYS_FILE) : undefined,
    tls,
    httpRedirectPort,
    trustedProxies,
    dev,
    smtpUrl,
    mailFrom,
    dkim,
    logLevel,
    sessionMaxAgeDays,
    apiKeyRatePerMinute,
    outboundCa,
  };
}

function loadOutboundCa(env: Env, problems: string[]): string | undefined {
  const file = env.RAMPART_OUTBOUND_CA_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    problems.push(`RAMPART_OUTBOUND_CA_FILE: cannot read the file ${file} (example: /etc/rampart/vendor-ca.pem)`);
    return undefined;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`RAMPART_OUTBOUND_CA_FILE: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  return text;
}

function loadDkim(env: Env, problems: string[]): Config['dkim'] {
  const domain = env.RAMPART_DKIM_DOMAIN;
  const selector = env.RAMPART_DKIM_SELECTOR;
  const privateKey = secretOrFile(env, 'RAMPART_DKIM_PRIVATE_KEY', problems);
  if (!domain && !selector && !privateKey) return undefined;
  if (!domain || !selector || !privateKey) {
    problems.push(
      'RAMPART_DKIM_DOMAIN, RAMPART_DKIM_SELECTOR and RAMPART_DKIM_PRIVATE_KEY(_FILE): set all three or none ' +
        '(example: RAMPART_DKIM_DOMAIN=example.com RAMPART_DKIM_SELECTOR=rampart ' +
        'RAMPART_DKIM_PRIVATE_KEY_FILE=/run/secrets/dkim.pem)',
    );
    return undefined;
  }
  return { domain, selector, privateKey };
}

function safeHostname(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'localhost';
  }
}

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

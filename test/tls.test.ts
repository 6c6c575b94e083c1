import http from 'node:http';
import https from 'node:https';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';
import { testEnv } from './helpers/app.js';
import { makeCertificate } from './helpers/certificates.js';
import { freePorts, makeTempDir, removeTempDirs, tryConnect } from './helpers/process.js';

const HOST = '127.0.0.1';

let server: RunningServer | undefined;
let cert: Buffer;
let tlsPort: number;
let httpPort: number;

beforeAll(async () => {
  const made = makeCertificate('rsa');
  cert = made.cert;
  [tlsPort, httpPort] = (await freePorts(2)) as [number, number];

  // The embedded database in its own data directory: this file is about TLS, not the database.
  const env = testEnv({
    DATABASE_URL: undefined,
    HOST,
    PORT: String(tlsPort),
    RAMPART_HTTP_PORT: String(httpPort),
    RAMPART_TLS_CERT: made.certFile,
    RAMPART_TLS_KEY: made.keyFile,
    RAMPART_DATA_DIR: makeTempDir('rampart-tls-data-'),
    RAMPART_BASE_URL: `https://localhost:${tlsPort}`,
  });
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  server = await startServer(loadConfig(env), quiet);
}, 120_000);

afterAll(async () => {
  await server?.shutdown();
  removeTempDirs();
});

interface Handshake {
  ok: boolean;
  protocol?: string | null;
  cipher?: string;
  error?: string;
}

function handshake(options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: HOST, port: tlsPort, servername: 'localhost', ca: cert, ...options }, () => {
      const result = { ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

function request(
  mod: typeof http | typeof https,
  options: https.RequestOptions,
): Promise<{ status: number | undefined; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = mod.request({ agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('TLS listener', () => {
  it('[T1] TLS 1.3 and TLS 1.2 handshakes succeed; TLS 1.1 and 1.0 are refused', async () => {
    const v13 = await handshake({});
    expect(v13).toMatchObject({ ok: true, protocol: 'TLSv1.3' });

    const v12 = await handshake({ maxVersion: 'TLSv1.2' });
    expect(v12).toMatchObject({ ok: true, protocol: 'TLSv1.2' });

    // SECLEVEL=0 lets the client's OpenSSL offer the old protocols at all; the server must still say no.
    for (const version of ['TLSv1.1', 'TLSv1'] as const) {
      const old = await handshake({ minVersion: 'TLSv1', maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' });
      expect(old.ok, `${version} must be refused`).toBe(false);
      // An alert from the server (not a client-side failure to offer the protocol).
      expect(old.error).toMatch(/^ERR_SSL_.*ALERT/);
    }
  });

  it(
    '[T1] a TLS 1.2 client offering only a weak cipher is refused; a default TLS 1.2 client gets an ECDHE ' +
      'AEAD suite',
    async () => {
      for (const weak of [
        'AES128-SHA',
        'AES256-SHA256',
        'AES128-GCM-SHA256',
        'ECDHE-RSA-AES128-SHA',
        'ECDHE-RSA-AES256-SHA384',
      ]) {
        const res = await handshake({ maxVersion: 'TLSv1.2', ciphers: weak });
        expect(res.ok, `${weak} must be refused`).toBe(false);
        expect(res.error, weak).toMatch(/^ERR_SSL_.*ALERT/);
      }
      const res = await handshake({ maxVersion: 'TLSv1.2' });
      expect(res.ok).toBe(true);
      expect(res.cipher).toMatch(/^ECDHE-.*(GCM|CHACHA20)/);
    },
  );

  it('[T2] an HTTPS response carries Strict-Transport-Security (one year, includeSubDomains)', async () => {
    const res = await request(https, {
      host: HOST,
      port: tlsPort,
      servername: 'localhost',
      ca: cert,
      path: '/',
      headers: { accept: 'text/html' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it(
    '[T2] plain HTTP on the redirect port gets a 308 to the configured HTTPS origin, whatever the Host header ' +
      'says',
    async () => {
      const res = await request(http, {
        host: HOST,
        port: httpPort,
        path: '/some/path?x=1',
        headers: { host: 'evil.example' },
      });
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://localhost:${tlsPort}/some/path?x=1`);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    },
  );

  it(
    '[T2] a plain HTTP request to the redirect port with a POST body is redirected too (308 keeps the ' + 'method)',
    async () => {
      const res = await request(http, {
        host: HOST,
        port: httpPort,
        path: '/signin',
        method: 'POST',
        headers: { host: 'evil.example' },
      });
      expect(res.status).toBe(308);
      expect(res.headers.location).toBe(`https://localhost:${tlsPort}/signin`);
    },
  );

  it('[T2] the redirect target stays on the configured origin for a protocol-relative request target', async () => {
    const res = await request(http, { host: HOST, port: httpPort, path: '//evil.example/phish' });
    expect(res.status).toBe(308);
    expect(res.headers.location).toMatch(new RegExp(`^https://localhost:${tlsPort}/`));
  });

  it('[T2] the redirect target stays on the configured origin for an absolute-form request target', async () => {
    const res = await request(http, { host: HOST, port: httpPort, path: 'http://evil.example/phish' });
    expect(res.status).toBe(308);
    expect(res.headers.location).toMatch(new RegExp(`^https://localhost:${tlsPort}/`));
  });

  it('[T2] shutdown() closes both the HTTPS and the redirect listener', async () => {
    expect(await tryConnect(tlsPort)).toBe('connected');
    expect(await tryConnect(httpPort)).toBe('connected');
    await server!.shutdown();
    expect(await tryConnect(tlsPort)).toBe('ECONNREFUSED');
    expect(await tryConnect(httpPort)).toBe('ECONNREFUSED');
  });
});

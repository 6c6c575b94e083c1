import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate } from '../../test/helpers/certificates.js';
import { checkProbe, probeTargetProblem } from './probe-check.js';

/* T3 / X2: probes against a real HTTPS server on loopback, its self-signed certificate trusted by CA only. */

const certificate = makeCertificate();
let server: Server;
let base: string;
const seen: string[] = [];

function handler(req: IncomingMessage, res: ServerResponse) {
  seen.push(req.url ?? '');
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  if (url.pathname === '/ok') return res.writeHead(200).end('ok');
  if (url.pathname === '/down') return res.writeHead(503).end('down');
  if (url.pathname === '/big') return res.writeHead(200).end(Buffer.alloc(200 * 1024, 'x'));
  if (url.pathname === '/slow') return setTimeout(() => res.writeHead(200).end('late'), 2000);
  if (url.pathname === '/same') return res.writeHead(302, { location: '/ok' }).end();
  if (url.pathname === '/away') return res.writeHead(302, { location: 'https://example.com/ok' }).end();
  res.writeHead(404).end();
}

beforeAll(async () => {
  server = createServer({ cert: certificate.cert, key: certificate.key }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const dev = { dev: true, ca: certificate.cert };

describe('status probe checks', () => {
  it('[X2] an HTTPS target answering the expected status passes; another status fails with it', async () => {
    expect(await checkProbe(`${base}/ok`, 200, dev)).toMatchObject({ ok: true, httpStatus: 200 });
    expect(await checkProbe(`${base}/down`, 200, dev)).toMatchObject({
      ok: false,
      httpStatus: 503,
      detail: 'answered 503, expected 200',
    });
    expect(await checkProbe(`${base}/down`, 503, dev)).toMatchObject({ ok: true });
  });

  it('[X2] [T3] the certificate is validated: without its CA the same server fails', async () => {
    const out = await checkProbe(`${base}/ok`, 200, { dev: true });
    expect(out.ok).toBe(false);
    expect(out.httpStatus).toBeNull();
    expect(out.detail).toMatch(/self[- ]signed|certificate/i);
  });

  it('[X2] a deadline and a size limit hold', async () => {
    const slow = await checkProbe(`${base}/slow`, 200, { ...dev, timeoutMs: 300 });
    expect(slow).toMatchObject({ ok: false, detail: 'no answer within 300 ms' });
    expect(slow.durationMs).toBeLessThan(1500);
    const big = await checkProbe(`${base}/big`, 200, { ...dev, maxBytes: 64 * 1024 });
    expect(big).toMatchObject({ ok: false, detail: 'the response is larger than 65536 bytes' });
  });

  it('[X2] redirects are followed on the same origin only', async () => {
    expect(await checkProbe(`${base}/same`, 200, dev)).toMatchObject({ ok: true, httpStatus: 200 });
    seen.length = 0;
    const away = await checkProbe(`${base}/away`, 200, dev);
    expect(away).toMatchObject({ ok: false, httpStatus: 302 });
    expect(away.detail).toContain('redirect to another host not followed');
    expect(seen).toEqual(['/away']);
  });

  it('[X2] [T3] plain http:// is refused outside dev mode without a request; loopback http works in dev', async () => {
    const plain = createHttpServer(handler);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/ok`;
    try {
      seen.length = 0;
      const refused = await checkProbe(url, 200, { dev: false });
      expect(refused.ok).toBe(false);
      expect(refused.detail).toMatch(/^refused: Plain http:\/\/ is refused/);
      expect(seen).toEqual([]);
      expect(await checkProbe(url, 200, { dev: true })).toMatchObject({ ok: true });
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });

  it('[X2] [T3] target rules: https only, no credentials, loopback and link-local only in dev', () => {
    expect(probeTargetProblem('https://status.example.com/health', false)).toBeNull();
    expect(probeTargetProblem('http://status.example.com/health', true)).toMatch(/http:\/\/ is refused/);
    expect(probeTargetProblem('https://user:pw@status.example.com/', false)).toMatch(/credentials/);
    expect(probeTargetProblem('https://127.0.0.1/', false)).toMatch(/dev mode/);
    expect(probeTargetProblem('https://[::1]/', false)).toMatch(/dev mode/);
    expect(probeTargetProblem('https://169.254.169.254/latest/meta-data', false)).toMatch(/dev mode/);
    expect(probeTargetProblem('https://127.0.0.1/', true)).toBeNull();
    expect(probeTargetProblem('ftp://example.com/', true)).toMatch(/https/);
    expect(probeTargetProblem('not a url', true)).toMatch(/full address/);
  });
});

import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailError } from './mailer.js';
import { splitMessage, verifyDkim } from './dkim-verify.js';
import { createSmtpMailer, dnsRecordsFor, smtpTransportOptions } from './smtp.js';

interface Received {
  rcptTo: string[];
  secure: boolean;
  raw: string;
}

const servers: SMTPServer[] = [];
const tempDir = mkdtempSync(path.join(tmpdir(), 'rampart-smtp-'));
let cert: { key: Buffer; cert: Buffer };

async function startServer(options: SMTPServerOptions): Promise<{ port: number; inbox: Received[] }> {
  const inbox: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    ...options,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        inbox.push({
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  // A refused client aborts the TLS handshake; the server reports that as an error event.
  server.on('error', () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, inbox };
}

const message = { to: 'alice@example.org', subject: 'Your sign-in code', text: 'Code: 123456' };

beforeAll(() => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(tempDir, 'key.pem'),
      '-out',
      path.join(tempDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = { key: readFileSync(path.join(tempDir, 'key.pem')), cert: readFileSync(path.join(tempDir, 'cert.pem')) };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  rmSync(tempDir, { recursive: true, force: true });
});

describe('SMTP mailer', () => {
  it('[T3] delivers over plain SMTP to a loopback relay in dev mode', async () => {
    const { port, inbox } = await startServer({ disabledCommands: ['STARTTLS'] });
    const mailer = createSmtpMailer({
      url: `smtp://127.0.0.1:${port}`,
      from: 'Rampart <no-reply@rampart.test>',
      dev: true,
    });
    await mailer.send(message);
    await mailer.close();

    expect(inbox).toHaveLength(1);
    const { headers, body } = splitMessage(inbox[0]!.raw);
    expect(inbox[0]!.rcptTo).toEqual(['alice@example.org']);
    expect(headers.find((h) => h.name === 'subject')?.line).toBe('Subject: Your sign-in code');
    expect(body).toContain('Code: 123456');
  });

  it('[X2] sends the extra headers a message carries (RFC 8058 List-Unsubscribe)', async () => {
    const { port, inbox } = await startServer({ disabledCommands: ['STARTTLS'] });
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@rampart.test', dev: true });
    await mailer.send({
      ...message,
      headers: {
        'List-Unsubscribe': '<https://status.example.com/status/unsubscribe?token=abc>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    await expect(mailer.send({ ...message, headers: { 'X-Bad': 'a\r\nBcc: eve@example.com' } })).rejects.toThrow();
    await mailer.close();
    expect(inbox).toHaveLength(1);
    const { headers } = splitMessage(inbox[0]!.raw);
    expect(headers.find((h) => h.name === 'list-unsubscribe')?.line).toBe(
      'List-Unsubscribe: <https://status.example.com/status/unsubscribe?token=abc>',
    );
    expect(headers.find((h) => h.name === 'list-unsubscribe-post')?.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );
  });

  it('[X5] signs outbound mail with DKIM for the configured domain and selector', async () => {
    const { port, inbox } = await startServer({ disabledCommands: ['STARTTLS'] });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const mailer = createSmtpMailer({
      url: `smtp://127.0.0.1:${port}`,
      from: 'no-reply@rampart.test',
      dev: true,
      dkim: {
        domain: 'rampart.test',
        selector: 'mail2026',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    await mailer.send({ ...message, html: '<p>Code: <b>123456</b></p>' });
    await mailer.close();

    const raw = inbox[0]!.raw;
    const signature = splitMessage(raw).headers.find((h) => h.name === 'dkim-signature')?.line ?? '';
    expect(signature).toMatch(/\bd=rampart\.test;/);
    expect(signature).toMatch(/\bs=mail2026;/);
    expect(verifyDkim(raw, publicKey.export({ type: 'spki', format: 'pem' }).toString()).ok).toBe(true);
    expect(
      verifyDkim(
        raw.replace('Code: 123456', 'Code: 654321'),
        publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ).ok,
    ).toBe(false);
  });

  it('[T3] outside dev mode, refuses a loopback relay that offers no STARTTLS', async () => {
    const { port, inbox } = await startServer({ disabledCommands: ['STARTTLS'] });
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@rampart.test', dev: false });
    const refused = await mailer.send(message).catch((err: unknown) => err);
    await mailer.close();
    expect(refused).toBeInstanceOf(MailError);
    expect((refused as MailError).message).toMatch(/STARTTLS/);
    expect(inbox).toHaveLength(0);
  });

  it('[T3] upgrades with STARTTLS and validates the relay certificate', async () => {
    const { port, inbox } = await startServer({ key: cert.key, cert: cert.cert });
    const untrusting = createSmtpMailer({ url: `smtp://localhost:${port}`, from: 'no-reply@rampart.test', dev: false });
    await expect(untrusting.send(message)).rejects.toThrow(/certificate/);
    await untrusting.close();
    expect(inbox).toHaveLength(0);

    const trusting = createSmtpMailer({
      url: `smtp://localhost:${port}`,
      from: 'no-reply@rampart.test',
      dev: false,
      tls: { ca: cert.cert },
    });
    await trusting.send(message);
    await trusting.close();
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.secure).toBe(true);
  });

  it('[T3] smtps:// uses implicit TLS and refuses a certificate it cannot validate', async () => {
    const { port, inbox } = await startServer({ secure: true, key: cert.key, cert: cert.cert });
    const untrusting = createSmtpMailer({ url: `smtps://localhost:${port}`, from: 'no-reply@rampart.test', dev: true });
    const refused = await untrusting.send(message).catch((err: unknown) => err);
    await untrusting.close();
    expect(refused).toBeInstanceOf(MailError);
    expect((refused as MailError).message).toMatch(/certificate/);
    expect(inbox).toHaveLength(0);

    const trusting = createSmtpMailer({
      url: `smtps://localhost:${port}`,
      from: 'no-reply@rampart.test',
      dev: true,
      tls: { ca: cert.cert },
    });
    await trusting.send(message);
    await trusting.close();
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.secure).toBe(true);
  });

  it('[T3] a non-loopback relay always needs TLS with certificate validation, even in dev mode', () => {
    for (const dev of [true, false]) {
      const plain = smtpTransportOptions({ url: 'smtp://relay.example.com:587', from: 'a@b.c', dev });
      expect(plain).toMatchObject({ secure: false, requireTLS: true, tls: { rejectUnauthorized: true } });
      const implicit = smtpTransportOptions({ url: 'smtps://relay.example.com', from: 'a@b.c', dev });
      expect(implicit).toMatchObject({ secure: true, port: 465, tls: { rejectUnauthorized: true } });
    }
    expect(smtpTransportOptions({ url: 'smtp://[::1]:25', from: 'a@b.c', dev: true }).requireTLS).toBe(false);
    expect(smtpTransportOptions({ url: 'smtp://127.0.0.2:25', from: 'a@b.c', dev: false }).requireTLS).toBe(true);
    expect(() => smtpTransportOptions({ url: 'http://relay.example.com', from: 'a@b.c', dev: true })).toThrow(
      MailError,
    );
  });

  it('[L3] delivery errors carry neither the SMTP password nor the message body', async () => {
    const { port } = await startServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        callback(new Error(`unknown user ${auth.username} with password ${auth.password} for ${message.text}`));
      },
    });
    const mailer = createSmtpMailer({
      url: `smtp://mailer:p%40ss-w0rd@127.0.0.1:${port}`,
      from: 'no-reply@rampart.test',
      dev: true,
    });
    const err = await mailer.send(message).catch((e: unknown) => e);
    await mailer.close();
    expect(err).toBeInstanceOf(MailError);
    expect((err as MailError).code).toBe('mail_failed');
    expect((err as MailError).message).toContain('unknown user mailer');
    expect((err as MailError).message).not.toContain('p@ss-w0rd');
    expect((err as MailError).message).not.toContain('123456');
  });

  it('[X5] lists the SPF, DKIM and DMARC records to publish, with the public half of the key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const records = dnsRecordsFor({
      domain: 'rampart.test',
      selector: 'mail2026',
      key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      mailHost: 'smtp.rampart.test',
    });
    expect(records.map((r) => [r.type, r.name])).toEqual([
      ['TXT', 'rampart.test'],
      ['TXT', 'mail2026._domainkey.rampart.test'],
      ['TXT', '_dmarc.rampart.test'],
    ]);
    const [spf, dkim, dmarc] = records;
    expect(spf!.value).toMatch(/^v=spf1 .*a:smtp\.rampart\.test -all$/);
    expect(dmarc!.value).toBe('v=DMARC1; p=quarantine; adkim=s; aspf=s');
    const p = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/.exec(dkim!.value)?.[1];
    const published = createPublicKey({ key: Buffer.from(p!, 'base64'), format: 'der', type: 'spki' });
    expect(published.equals(publicKey)).toBe(true);
    expect(dkim!.value).not.toContain('PRIVATE');
  });
});

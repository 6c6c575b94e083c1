import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { linkIn, TestClient } from './helpers/client.js';

interface Received {
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

/** The identity flows with mail going out through a real SMTP server instead of the dev mailbox. */
describe('identity flows over real SMTP', () => {
  const received: Received[] = [];
  let server: SMTPServer;
  let t: TestApp;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const parsed = await simpleParser(raw);
          received.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            raw,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.server.address() as { port: number };
    // Dev mode allows plain SMTP to loopback only; production requires TLS (tested in the mail suite).
    t = await createTestApp({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      RAMPART_MAIL_FROM: 'Rampart <no-reply@rampart.test>',
    });
  });
  afterAll(async () => {
    await t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function mailTo(address: string, subject: RegExp): Promise<Received> {
    for (let i = 0; i < 200; i++) {
      const found = [...received].reverse().find((m) => m.to.includes(address) && subject.test(m.subject));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no SMTP delivery to ${address} matching ${subject}`);
  }

  it(
    '[A1] [A2] [A3] sign-up, verification, magic link, reset and the notices all arrive by SMTP and ' + 'work',
    async () => {
      const email = `smtp.${Date.now()}@example.com`;
      const client = new TestClient(t.app);
      expect(
        (await client.api('POST', '/api/v1/signup', { email, password: 'vivid otter pencil marble' })).statusCode,
      ).toBe(202);
      const verify = await mailTo(email, /Confirm your e-mail/);
      expect(verify.raw).toMatch(/^From: Rampart <no-reply@rampart\.test>/m);
      expect(
        (await client.api('POST', '/api/v1/email-verification', { token: linkIn(verify.text, '/verify-email').token }))
          .statusCode,
      ).toBe(200);

      await client.api('POST', '/api/v1/signup', { email, password: 'some other long phrase' });
      expect((await mailTo(email, /tried to sign up/)).text).toContain('Nothing was changed');

      await client.api('POST', '/api/v1/magic-links', { email });
      const magic = linkIn((await mailTo(email, /sign-in link/)).text, '/magic-link/confirm');
      expect((await client.api('POST', '/api/v1/magic-links/consume', { token: magic.token })).statusCode).toBe(200);

      await client.api('POST', '/api/v1/password-resets', { email });
      const reset = linkIn((await mailTo(email, /Reset your password/)).text, '/reset-password');
      expect(
        (
          await client.api('POST', '/api/v1/password-resets/complete', {
            token: reset.token,
            password: 'new quiet harbor lantern',
          })
        ).statusCode,
      ).toBe(200);
      expect((await mailTo(email, /password was reset/)).text).toContain('signed out');
    },
  );
});

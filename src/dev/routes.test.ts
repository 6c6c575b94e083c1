import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { createMailer } from '../platform/mail/index.js';

const html = { accept: 'text/html' };

describe('dev mailbox', () => {
  let dev: TestApp;
  let prod: TestApp;
  beforeAll(async () => {
    [dev, prod] = await Promise.all([
      createTestApp({ RAMPART_DEV: 'true' }),
      createTestApp({ RAMPART_DEV: 'false', SMTP_URL: 'smtp://127.0.0.1:1' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dev.close(), prod.close()]);
  });

  it(
    '[A1] in dev mode, mail is kept and shown at /dev/mailbox with its links clickable and its text ' + 'escaped',
    async () => {
      const mailer = createMailer(dev.config, dev.db);
      await mailer.send({
        to: 'new.user@example.com',
        subject: 'Verify <your> e-mail',
        text: 'Open http://localhost:3000/verify?token=abc to continue.\n<script>alert(1)</script>',
        html: '<img src=x onerror=alert(1)>',
      });
      const list = await dev.app.inject({ url: '/dev/mailbox', headers: html });
      expect(list.statusCode).toBe(200);
      expect(list.body).toContain('new.user@example.com');
      expect(list.body).toContain('Verify &lt;your> e-mail');
      const link = /href="(\/dev\/mailbox\/[0-9a-f-]{36})"/.exec(list.body)?.[1];
      expect(link).toBeDefined();

      const message = await dev.app.inject({ url: link!, headers: html });
      expect(message.statusCode).toBe(200);
      expect(message.body).toContain('<a href="http://localhost:3000/verify?token=abc">');
      expect(message.body).toContain('&lt;script>alert(1)&lt;/script>');
      expect(message.body).not.toContain('onerror'); // the HTML part is never rendered
    },
  );

  it('[A1] an unknown or malformed message id answers 404 / 400', async () => {
    expect(
      (await dev.app.inject({ url: '/dev/mailbox/00000000-0000-4000-8000-000000000000', headers: html })).statusCode,
    ).toBe(404);
    expect((await dev.app.inject({ url: '/dev/mailbox/nope', headers: html })).statusCode).toBe(400);
  });

  it('[A1] outside dev mode the mailbox does not exist (404)', async () => {
    for (const url of ['/dev/mailbox', '/dev/mailbox/00000000-0000-4000-8000-000000000000']) {
      const res = await prod.app.inject({ url, headers: html });
      expect(res.statusCode).toBe(404);
    }
  });
});

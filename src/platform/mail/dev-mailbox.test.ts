import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { createDevMailbox } from './dev-mailbox.js';
import { createMailer } from './index.js';
import { MailError } from './mailer.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.dispose());

describe(`dev mailbox on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('[T3] without SMTP_URL, mail is kept in the dev mailbox instead of sent', async () => {
    const mailer = createMailer(
      { smtpUrl: undefined, mailFrom: 'Rampart <no-reply@localhost>', dkim: undefined, dev: true },
      db,
    );
    expect(mailer.devMailbox).toBeDefined();
    await mailer.send({ to: 'first@example.org', subject: 'First', text: 'one' });
    await mailer.send({ to: 'second@example.org', subject: 'Second', text: 'two', html: '<p>two</p>' });

    const list = await mailer.devMailbox!.list();
    expect(list.map((m) => m.subject)).toEqual(['Second', 'First']);
    expect(list[0]).toMatchObject({
      to: 'second@example.org',
      from: 'Rampart <no-reply@localhost>',
      text: 'two',
      html: '<p>two</p>',
    });
    expect(list[0]!.createdAt).toBeInstanceOf(Date);
    expect(list[1]!.html).toBeNull();
    expect(await mailer.devMailbox!.list(1)).toHaveLength(1);

    expect(await mailer.devMailbox!.get(list[1]!.id)).toEqual(list[1]);
    expect(await mailer.devMailbox!.get('00000000-0000-0000-0000-000000000001')).toBeUndefined();
    expect(await mailer.devMailbox!.get('not-a-uuid')).toBeUndefined();

    await mailer.devMailbox!.clear();
    expect(await mailer.devMailbox!.list()).toEqual([]);
    await mailer.close();
  });

  it('[T3] refuses a recipient that would fan out to several addresses', async () => {
    const box = createDevMailbox(db, 'no-reply@localhost');
    await expect(box.send({ to: 'a@example.org, b@example.org', subject: 'x', text: 'y' })).rejects.toBeInstanceOf(
      MailError,
    );
    expect(await box.list()).toEqual([]);
  });
});

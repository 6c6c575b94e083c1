import type { Tenancy } from '../db/database.js';
import type { DevMailboxTable } from '../db/tables.js';
import type { Selectable } from 'kysely';
import { assertHeaders, assertSingleRecipient, type Mailer } from './mailer.js';

export interface StoredMail {
  id: string;
  createdAt: Date;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string | null;
  headers: Record<string, string>;
}

export type DevMailbox = Mailer & {
  list(limit?: number): Promise<StoredMail[]>;
  get(id: string): Promise<StoredMail | undefined>;
  clear(): Promise<void>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toStored(row: Selectable<DevMailboxTable>): StoredMail {
  return {
    id: row.id,
    createdAt: new Date(row.created_at),
    to: row.to_address,
    from: row.from_address,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    headers: row.headers ?? {},
  };
}

/** Dev mode without SMTP_URL: messages are kept in the database and shown at /dev/mailbox instead of sent. */
export function createDevMailbox(db: Tenancy, from: string): DevMailbox {
  return {
    async send(message) {
      assertSingleRecipient(message.to);
      assertHeaders(message.headers);
      await db.withSystem((tx) =>
        tx
          .insertInto('dev_mailbox')
          .values({
            to_address: message.to,
            from_address: from,
            subject: message.subject,
            text_body: message.text,
            html_body: message.html ?? null,
            headers: message.headers ? JSON.stringify(message.headers) : null,
          })
          .execute(),
      );
    },
    async close() {},
    async list(limit = 50) {
      const n = Math.min(Math.max(Math.trunc(limit) || 1, 1), 500);
      const rows = await db.withSystem((tx) =>
        tx.selectFrom('dev_mailbox').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(n).execute(),
      );
      return rows.map(toStored);
    },
    async get(id) {
      if (!UUID.test(id)) return undefined; // PostgreSQL would reject it as a uuid
      const row = await db.withSystem((tx) =>
        tx.selectFrom('dev_mailbox').selectAll().where('id', '=', id).executeTakeFirst(),
      );
      return row && toStored(row);
    },
    async clear() {
      await db.withSystem((tx) => tx.deleteFrom('dev_mailbox').execute());
    },
  };
}

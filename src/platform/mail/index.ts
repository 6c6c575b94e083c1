import type { Tenancy } from '../db/database.js';
import { createDevMailbox, type DevMailbox } from './dev-mailbox.js';
import type { Mailer } from './mailer.js';
import { createSmtpMailer, type DkimKey } from './smtp.js';

export { MailError, type MailMessage, type Mailer } from './mailer.js';
export {
  createSmtpMailer,
  dnsRecordsFor,
  isLoopbackHost,
  type DkimKey,
  type DnsRecord,
  type SmtpMailerOptions,
} from './smtp.js';
export { createDevMailbox, type DevMailbox, type StoredMail } from './dev-mailbox.js';

/** SMTP when SMTP_URL is set; otherwise the dev mailbox (config validation refuses production without SMTP_URL). */
export function createMailer(
  config: { smtpUrl?: string; mailFrom: string; dkim?: DkimKey; dev: boolean },
  db: Tenancy,
): Mailer & { devMailbox?: DevMailbox } {
  if (config.smtpUrl) {
    return createSmtpMailer({ url: config.smtpUrl, from: config.mailFrom, dev: config.dev, dkim: config.dkim });
  }
  const devMailbox = createDevMailbox(db, config.mailFrom);
  return { send: (m) => devMailbox.send(m), close: () => devMailbox.close(), devMailbox };
}

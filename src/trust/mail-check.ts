import { createPublicKey } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Config } from '../config.js';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import { verifyDkim } from '../platform/mail/dkim-verify.js';
import { smtpTransportOptions } from '../platform/mail/smtp.js';

/*
 * X5: a message is built by nodemailer with the very DKIM options the SMTP mailer uses (nothing is
 * sent), and its DKIM-Signature is verified (RFC 6376, relaxed/relaxed) with the public half of the key.
 */

export function dkimCheck(config: Config): TrustCheck {
  return {
    control: 'X5',
    id: 'dkim-signing',
    title: 'Outbound mail carries a valid DKIM signature of the sending domain',
    async run(): Promise<TrustVerdict> {
      if (!config.smtpUrl)
        return {
          status: 'not_configured',
          detail:
            'No SMTP relay: mail stays in the dev mailbox. Set SMTP_URL and RAMPART_DKIM_DOMAIN, ' +
            'RAMPART_DKIM_SELECTOR and RAMPART_DKIM_PRIVATE_KEY(_FILE).',
        };
      if (!config.dkim)
        return {
          status: 'failing',
          detail: 'Mail goes out unsigned: set RAMPART_DKIM_DOMAIN, RAMPART_DKIM_SELECTOR, RAMPART_DKIM_PRIVATE_KEY.',
        };
      const options = smtpTransportOptions({
        url: config.smtpUrl,
        from: config.mailFrom,
        dev: config.dev,
        dkim: config.dkim,
      });
      const transport = createTransport({
        streamTransport: true,
        buffer: true,
        newline: 'windows',
        dkim: options.dkim,
      });
      const info = await transport.sendMail({
        from: config.mailFrom,
        to: 'trust-check@example.invalid',
        subject: 'Rampart trust check',
        text: 'A message built to check its DKIM signature; it is never sent.',
      });
      const raw = (info.message as Buffer).toString('utf8');
      const publicKey = createPublicKey(config.dkim.privateKey).export({ type: 'spki', format: 'pem' }).toString();
      const verdict = verifyDkim(raw, publicKey);
      if (!verdict.ok) return { status: 'failing', detail: verdict.reason };
      if (verdict.domain !== config.dkim.domain)
        return { status: 'failing', detail: `mail is signed for ${verdict.domain}, not ${config.dkim.domain}` };
      return {
        status: 'passing',
        detail:
          `mail is signed with DKIM (rsa-sha256, relaxed/relaxed) for ${verdict.domain}, selector ` +
          `${config.dkim.selector}`,
      };
    },
  };
}

import type { Config } from '../config.js';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import { smtpTransportOptions } from '../platform/mail/smtp.js';

/* T3 for mail: the options the SMTP mailer connects with, built by the very function it uses. */

type SmtpOptions = ReturnType<typeof smtpTransportOptions>;

/** What the mailer's connection options say about T3 (dev: plain SMTP to this machine is allowed). */
export function smtpOptionsVerdict(options: SmtpOptions, dev: boolean): TrustVerdict {
  const tls = (options.tls ?? {}) as { rejectUnauthorized?: boolean; minVersion?: string };
  if (tls.rejectUnauthorized === false)
    return { status: 'failing', detail: "the relay's certificate is not validated" };
  if (tls.minVersion !== 'TLSv1.2' && tls.minVersion !== 'TLSv1.3')
    return { status: 'failing', detail: `the relay connection allows ${tls.minVersion ?? 'any TLS version'}` };
  const how = options.secure ? 'implicit TLS' : options.requireTLS ? 'STARTTLS, required' : undefined;
  if (how) return { status: 'passing', detail: `mail goes to ${options.host} over ${how}, certificate validated` };
  if (dev && options.allowInternalNetworkInterfaces)
    return { status: 'passing', detail: `plain SMTP to ${options.host} on this machine (dev mode only)` };
  return { status: 'failing', detail: `mail to ${options.host} may go unencrypted (no TLS required)` };
}

export function smtpTlsCheck(config: Config): TrustCheck {
  return {
    control: 'T3',
    id: 'smtp-tls',
    title: 'Mail leaves over TLS with the relay certificate validated',
    async run() {
      if (!config.smtpUrl)
        return { status: 'not_configured', detail: 'No SMTP relay: mail stays in the dev mailbox. Set SMTP_URL.' };
      return smtpOptionsVerdict(
        smtpTransportOptions({ url: config.smtpUrl, from: config.mailFrom, dev: config.dev }),
        config.dev,
      );
    },
  };
}

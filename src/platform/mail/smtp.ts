import { createPublicKey } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { assertHeaders, assertSingleRecipient, MailError, type Mailer } from './mailer.js';

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: string;
}

export interface SmtpMailerOptions {
  url: string;
  from: string;
  dev: boolean;
  dkim?: DkimKey;
  /** Extra trust anchors (tests with a self-signed certificate); validation itself is never turned off. */
  tls?: { ca?: string | Buffer };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The nodemailer options for an SMTP URL (T3): TLS with certificate validation, except plain loopback in dev. */
export function smtpTransportOptions(opts: SmtpMailerOptions): SMTPTransportOptions {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new MailError('SMTP URL is not a valid URL'); // never echo it: it may carry the password
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new MailError('SMTP URL must use smtp:// or smtps://');
  const implicitTls = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = isLoopbackHost(host);
  return {
    host,
    port: url.port ? Number(url.port) : implicitTls ? 465 : 587,
    secure: implicitTls,
    requireTLS: !implicitTls && !(opts.dev && loopback),
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(opts.tls?.ca ? { ca: opts.tls.ca } : {}) },
    // Without this, nodemailer skips address families that only loopback interfaces have.
    allowInternalNetworkInterfaces: loopback,
    dkim: opts.dkim && {
      domainName: opts.dkim.domain,
      keySelector: opts.dkim.selector,
      privateKey: opts.dkim.privateKey,
    },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
  };
}

export function createSmtpMailer(opts: SmtpMailerOptions): Mailer {
  const options = smtpTransportOptions(opts);
  const transport = createTransport(options);
  const password = options.auth?.pass;

  return {
    async send(message) {
      assertSingleRecipient(message.to);
      assertHeaders(message.headers);
      try {
        await transport.sendMail({
          from: opts.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          headers: message.headers,
        });
      } catch (err) {
        // Short bodies are left alone: redacting them would garble the reason rather than hide anything.
        const bodies = [message.text, message.html ?? ''].filter((b) => b.length >= 8);
        const secrets = password ? [password, encodeURIComponent(password), ...bodies] : bodies;
        throw toMailError(err, secrets);
      }
    },
    async close() {
      transport.close();
    },
  };
}

function toMailError(err: unknown, secrets: string[]): MailError {
  const e = (err ?? {}) as { message?: unknown; code?: unknown; responseCode?: unknown };
  // nodemailer's message may quote the server's reply, and a server may echo what it was sent (L3).
  let reason = typeof e.message === 'string' ? e.message.trim() : 'unknown error';
  for (const secret of secrets) reason = reason.split(secret).join('[redacted]');
  const smtpCode = typeof e.code === 'string' ? e.code : undefined;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  return new MailError(`mail delivery failed: ${reason.slice(0, 300)}`, { smtpCode, responseCode });
}

export interface DnsRecord {
  type: 'TXT';
  name: string;
  value: string;
  purpose: string;
}

/**
 * The records an operator publishes so that receivers accept the signed mail (X5).
 * `key` may be the private key (as configured) or the public key: only the public half is published.
 */
export function dnsRecordsFor(opts: { domain: string; selector: string; key: string; mailHost?: string }): DnsRecord[] {
  const publicKey = createPublicKey(opts.key);
  if (publicKey.asymmetricKeyType !== 'rsa') throw new Error('DKIM key must be an RSA key');
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const relay = opts.mailHost ? ` a:${opts.mailHost}` : '';
  return [
    {
      type: 'TXT',
      name: opts.domain,
      value: `v=spf1 mx${relay} -all`,
      purpose:
        `SPF: the servers allowed to send mail for ${opts.domain}; add your relay's include: mechanism ` +
        `if it documents one`,
    },
    {
      type: 'TXT',
      name: `${opts.selector}._domainkey.${opts.domain}`,
      value: `v=DKIM1; k=rsa; p=${p}`,
      purpose: 'DKIM: the public key receivers use to check the signature on every message',
    },
    {
      type: 'TXT',
      name: `_dmarc.${opts.domain}`,
      value: 'v=DMARC1; p=quarantine; adkim=s; aspf=s',
      purpose: 'DMARC: receivers quarantine mail claiming this domain that passes neither aligned SPF nor aligned DKIM',
    },
  ];
}

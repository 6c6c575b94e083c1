export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Extra headers (List-Unsubscribe, RFC 8058); names are plain tokens, values one line each. */
  headers?: Record<string, string>;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

/** Delivery failed. The message names the cause but never carries credentials or message bodies. */
export class MailError extends Error {
  readonly code = 'mail_failed';

  constructor(
    message: string,
    readonly detail: { smtpCode?: string; responseCode?: number } = {},
  ) {
    super(message);
    this.name = 'MailError';
  }
}

// One plain address only: a comma or a display name would let a caller-supplied address fan out to others.
const SINGLE_ADDRESS = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;

export function assertSingleRecipient(to: string): void {
  if (!SINGLE_ADDRESS.test(to)) throw new MailError('mail recipient must be a single plain email address');
}

const HEADER_NAME = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a line break in a header value would start a new header
const HEADER_BREAK = /[\r\n\u0000]/;

/** A header that could inject others (a line break) or replace ours is refused, not cleaned. */
export function assertHeaders(headers: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!HEADER_NAME.test(name) || /^(from|to|cc|bcc|subject|date|message-id|dkim-signature)$/i.test(name))
      throw new MailError(`mail header ${JSON.stringify(name.slice(0, 40))} is not allowed`);
    if (HEADER_BREAK.test(value) || value.length > 2000) throw new MailError(`mail header ${name} has a bad value`);
  }
}

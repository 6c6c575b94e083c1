export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
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

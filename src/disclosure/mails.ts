import type { MailMessage } from '../platform/mail/index.js';
import { when } from '../platform/views/format.js';
import type { ReportRow as Report } from './repository.js';

/* The mails of X3. The status link's token is in the first mail only: it is kept as a hash. */

const LABEL: Record<string, string> = {
  acknowledged: 'acknowledged',
  triaging: 'being triaged',
  resolved: 'resolved',
  not_applicable: 'closed as not applicable',
  duplicate: 'closed as a duplicate of an earlier report',
};

export function received(product: string, r: Report, statusLink: string): MailMessage {
  return {
    to: r.reporter_email,
    subject: `Your security report ${r.reference} was received`,
    text: [
      `Thank you for reporting a security problem to ${product}.`,
      '',
      `Your tracking reference: ${r.reference}`,
      `Summary: ${r.summary}`,
      '',
      `We will acknowledge it by ${when(r.ack_due_at)}.`,
      'Follow its status here (keep this link to yourself; anyone with it can read the status):',
      statusLink,
      '',
      'Quote the reference if you write to us about this report.',
    ].join('\n'),
  };
}

export function statusChanged(
  product: string,
  r: Pick<Report, 'reporter_email' | 'reference' | 'status'>,
): MailMessage {
  const subject =
    r.status === 'acknowledged'
      ? `Your security report ${r.reference} was acknowledged`
      : `Your security report ${r.reference} is ${LABEL[r.status]}`;
  return {
    to: r.reporter_email,
    subject,
    text: [
      `${product} has ${r.status === 'acknowledged' ? 'acknowledged' : 'updated'} your security report ${r.reference}.`,
      `It is now ${LABEL[r.status] ?? r.status}.`,
      '',
      'The status link in the first mail about this report shows its whole timeline.',
    ].join('\n'),
  };
}

export function deadlineMissed(
  product: string,
  r: { id: string; reference: string; summary: string; received_at: Date; ack_due_at: Date },
  to: string,
  baseUrl: string,
): MailMessage {
  return {
    to,
    subject: `Security report ${r.reference} missed its acknowledgement deadline`,
    text: [
      `A security report to ${product} was not acknowledged in time.`,
      '',
      `Reference: ${r.reference}`,
      `Summary: ${r.summary}`,
      `Received: ${when(r.received_at)}`,
      `Acknowledgement was due: ${when(r.ack_due_at)}`,
      '',
      `Acknowledge it on the operator console: ${baseUrl}/operator/disclosure/${r.id}`,
    ].join('\n'),
  };
}

import type { MailMessage } from '../platform/mail/index.js';

const signature = (baseUrl: string) => `— Rampart at ${new URL(baseUrl).host}`;
const notYou = (baseUrl: string) =>
  `If this was not you, someone has your sign-in details: reset your password now ` +
  `(${new URL('/forgot-password', baseUrl)}) and review your account security ` +
  `(${new URL('/account/security', baseUrl)}).`;

/** A second factor was added to or removed from the account (A4, A5). */
export const factorChangedMail = (
  to: string,
  what: string,
  change: 'added' | 'removed',
  baseUrl: string,
): MailMessage => ({
  to,
  subject: change === 'added' ? `A second factor was added: ${what}` : `A second factor was removed: ${what}`,
  text:
    `This second factor was just ${change === 'added' ? 'added to' : 'removed from'} your account: ${what}.\n\n` +
    `${notYou(baseUrl)}\n\n${signature(baseUrl)}`,
});

export const recoveryCodeUsedMail = (to: string, left: number, baseUrl: string): MailMessage => ({
  to,
  subject: 'A recovery code was used to sign in',
  text:
    `One of your recovery codes was just used to sign in. ${left} unused code${left === 1 ? '' : 's'} ` +
    `remain${left === 1 ? 's' : ''}; you can make a new set on your account security ` +
    `page.\n\n${notYou(baseUrl)}\n\n${signature(baseUrl)}`,
});

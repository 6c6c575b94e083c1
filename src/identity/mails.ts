import type { MailMessage } from '../platform/mail/index.js';

/** Every mail says why it came and what to do if it was not you. Links are absolute and single-use. */
const footer = (baseUrl: string) =>
  `\n\nIf you did not ask for this, you can ignore this message; nothing changes until the link is used.\n\n— ` +
  `Rampart at ${new URL(baseUrl).host}`;

export const verifyEmailMail = (to: string, link: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Confirm your e-mail address',
  text:
    `Confirm that this is your address to finish creating your account:\n\n${link}\n\nThe link works once ` +
    `and expires in 24 hours.${footer(baseUrl)}`,
});

export const existingAccountMail = (to: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Someone tried to sign up with your address',
  text:
    `Someone (maybe you) tried to create an account with this address, but you already have one. Nothing ` +
    `was changed.\n\nForgot your password? Reset it here: ${new URL('/forgot-password', baseUrl)}\nOr sign in ` +
    `with a link by e-mail: ${new URL('/magic-link', baseUrl)}${footer(baseUrl)}`,
});

export const magicLinkMail = (to: string, link: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Your sign-in link',
  text: `Use this link to sign in:\n\n${link}\n\nIt works once and expires in 15 minutes.${footer(baseUrl)}`,
});

export const passwordResetMail = (to: string, link: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Reset your password',
  text:
    `Choose a new password here:\n\n${link}\n\nThe link works once and expires in 1 hour. Resetting signs ` +
    `you out everywhere.${footer(baseUrl)}`,
});

export const passwordChangedMail = (to: string, how: 'changed' | 'reset', baseUrl: string): MailMessage => ({
  to,
  subject: `Your password was ${how}`,
  text:
    `The password of your account was just ${how}, and every other session was signed out.\n\nIf this was ` +
    `not you, reset your password now: ${new URL('/forgot-password', baseUrl)}\n\n— Rampart at ` +
    `${new URL(baseUrl).host}`,
});

export const emailChangeMail = (to: string, link: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Confirm your new e-mail address',
  text:
    `Confirm that this address should become the sign-in address of your account:\n\n${link}\n\nThe link ` +
    `works once and expires in 1 hour. Until it is used, your account keeps its current address.${footer(baseUrl)}`,
});

export const emailChangeToTakenMail = (to: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Someone tried to move an account to your address',
  text:
    `Someone (maybe you) asked to make this address the sign-in address of another account, but it already ` +
    `belongs to yours. Nothing was changed.${footer(baseUrl)}`,
});

export const emailChangedMail = (to: string, newEmail: string, baseUrl: string): MailMessage => ({
  to,
  subject: 'Your sign-in address was changed',
  text:
    `The sign-in address of your account was just changed from this address to ${newEmail}. Mail about the ` +
    `account now goes there.\n\nIf this was not you, someone else controls your account: contact the ` +
    `administrator of ${new URL(baseUrl).host} at once.\n\n— Rampart at ${new URL(baseUrl).host}`,
});

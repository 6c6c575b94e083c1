import { randomBytes } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
import { vi } from 'vitest';
import { totpCode } from '../../src/mfa/totp.js';
import { createOperatorConsole } from '../../src/operator/index.js';
import { systemClock } from '../../src/platform/clock.js';
import type { Database } from '../../src/platform/db/database.js';
import { screenshot } from '../helpers/browser.js';

/** Passwords zxcvbn scores as strong: a few unrelated words. */
export const PASSWORD = 'violet tractor umbrella seventy';
export const NEW_PASSWORD = 'marble kettle orbit journey';

/** A fresh address per test: the dev mailbox and the database are shared by the whole file. */
export function uniqueEmail(label: string): string {
  return `${label}.${Date.now()}.${randomBytes(3).toString('hex')}@example.com`;
}

/** Waits for the page's main heading (an h1 with exactly this text). */
export async function heading(page: Page, text: string | RegExp): Promise<Locator> {
  const h1 = page.getByRole('heading', { level: 1, name: text });
  await h1.waitFor();
  return h1;
}

/** The headings of Rampart's error pages (platform/http/errors.ts). */
const ERROR_HEADING = /^(That did not work|Something went wrong|Not found)$/;

/**
 * Runs an action that navigates, and waits for the page it lands on. If an error page comes
 * instead, it fails at once with the server's message rather than waiting for the timeout.
 */
export async function landOn(
  page: Page,
  url: string | RegExp | ((url: URL) => boolean),
  action: () => Promise<unknown>,
): Promise<void> {
  const arrived = page.waitForURL(url).then(() => undefined);
  const refused = page
    .getByRole('heading', { level: 1, name: ERROR_HEADING })
    .waitFor()
    .then(
      async () =>
        `the server answered ${page.url()} with: ${(await page.locator('main').innerText()).replace(/\s+/g, ' ')}`,
    );
  // The loser of the race ends with a timeout or a closed page later: nobody needs to hear it.
  arrived.catch(() => undefined);
  refused.catch(() => undefined);
  await action();
  const problem = await Promise.race([arrived, refused]);
  if (problem) {
    await screenshot(page, 'last-failure');
    throw new Error(`expected to land on ${String(url)}, but ${problem} (see screenshots/last-failure.png)`);
  }
}

/** Options for a flow that should leave screenshots behind (name prefix → `<prefix>-<step>.png`). */
export interface Shots {
  prefix?: string;
}

async function shot(page: Page, shots: Shots | undefined, step: string): Promise<void> {
  if (shots?.prefix) await screenshot(page, `${shots.prefix}-${step}`);
}

/**
 * Opens the newest message to `to` with this subject in the dev mailbox. Mail is sent after the
 * response, so the list is reloaded until it shows up.
 */
export async function openMail(page: Page, baseUrl: string, to: string, subject: string, shots?: Shots): Promise<void> {
  const row = page
    .getByRole('row')
    .filter({ has: page.getByRole('cell', { name: to, exact: true }) })
    .filter({ has: page.getByRole('link', { name: subject, exact: true }) })
    .first();
  await vi.waitFor(
    async () => {
      await page.goto(`${baseUrl}/dev/mailbox`);
      if ((await row.count()) === 0) throw new Error(`no "${subject}" mail to ${to} in the dev mailbox yet`);
    },
    { timeout: 15_000, interval: 100 },
  );
  await heading(page, 'Dev mailbox');
  await shot(page, shots, 'mailbox');
  await landOn(page, /\/dev\/mailbox\/[0-9a-f-]{36}$/, () =>
    row.getByRole('link', { name: subject, exact: true }).click(),
  );
  await heading(page, subject);
  await shot(page, shots, 'mail');
}

/** Clicks the link in an open mail that leads to `path` (e.g. `/verify-email`). */
export async function followMailLink(page: Page, baseUrl: string, path: string): Promise<string> {
  const link = page.getByRole('link', { name: `${baseUrl}${path}?token=` });
  const href = await link.getAttribute('href');
  if (!href) throw new Error(`the mail has no ${path} link`);
  await landOn(
    page,
    (url) => url.pathname === path,
    () => link.click(),
  );
  return href;
}

/** Sign-up through the form; lands on "Check your e-mail". */
export async function signUp(
  page: Page,
  baseUrl: string,
  email: string,
  password = PASSWORD,
  shots?: Shots,
): Promise<void> {
  await page.goto(`${baseUrl}/signup`);
  await heading(page, 'Create your account');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  await shot(page, shots, 'signup');
  await landOn(page, `${baseUrl}/signup/check-email`, () =>
    page.getByRole('form', { name: 'Create account' }).getByRole('button', { name: 'Create account' }).click(),
  );
  await heading(page, 'Check your e-mail');
  await shot(page, shots, 'check-email');
}

/** Opens the confirmation mail, follows its link and presses "Confirm my address". */
export async function confirmEmail(page: Page, baseUrl: string, email: string, shots?: Shots): Promise<void> {
  await openMail(page, baseUrl, email, 'Confirm your e-mail address', shots);
  await followMailLink(page, baseUrl, '/verify-email');
  await heading(page, 'Confirm your e-mail address');
  await shot(page, shots, 'confirm');
  await page.getByRole('button', { name: 'Confirm my address' }).click();
  await heading(page, 'E-mail confirmed');
  await page.getByRole('status').filter({ hasText: 'Your address is confirmed.' }).waitFor();
  await shot(page, shots, 'verified');
}

/** Password sign-in; lands on the account security page. */
export async function signIn(
  page: Page,
  baseUrl: string,
  email: string,
  password = PASSWORD,
  shots?: Shots,
): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await heading(page, 'Sign in');
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  await shot(page, shots, 'signin');
  await landOn(page, `${baseUrl}/account/security`, () =>
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  );
  await heading(page, 'Account security');
}

/** A verified account, made through the pages. */
export async function newVerifiedAccount(page: Page, baseUrl: string, label: string): Promise<string> {
  const email = uniqueEmail(label);
  await signUp(page, baseUrl, email);
  await confirmEmail(page, baseUrl, email);
  return email;
}

/** From the account security page: sets up the authenticator app (the session becomes two-factor); its key. */
export async function enrollTotp(page: Page, baseUrl: string): Promise<string> {
  await landOn(page, `${baseUrl}/account/totp/setup`, () =>
    page.getByRole('link', { name: 'Set up an authenticator app' }).first().click(),
  );
  const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
  await page.getByLabel('Code from the app').fill(totpCode(secret, new Date()));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await heading(page, 'Two-factor sign-in is on');
  await landOn(page, `${baseUrl}/account/security`, () => page.getByRole('button', { name: 'I saved them' }).click());
  return secret;
}

/**
 * An operator signed in on `page`: a verified account made through the pages, with an authenticator
 * app, granted the console on the server's database (as `rampart operator grant` does).
 */
export async function signedInOperator(page: Page, baseUrl: string, db: Database, label = 'operator') {
  const email = await newVerifiedAccount(page, baseUrl, label);
  await signIn(page, baseUrl, email);
  await enrollTotp(page, baseUrl);
  await createOperatorConsole({ db, clock: systemClock }).grant(email);
  return email;
}

/** The rows of the "Where you are signed in" table. */
export function sessionRows(page: Page): Locator {
  return page.getByRole('region', { name: 'Where you are signed in' }).locator('tbody tr');
}

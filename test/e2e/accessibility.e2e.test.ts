import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/mfa/totp.js';
import {
  type AxeViolation,
  axeViolations,
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  startBrowserServer,
  type BrowserServer,
} from '../helpers/browser.js';
import { heading, landOn, newVerifiedAccount, PASSWORD, signIn } from './flows.js';

/*
 * Every page, checked by axe-core (WCAG 2.1 A and AA rules) in Chromium as a person would reach it.
 * axe is evaluated through the DevTools protocol, which the pages' CSP does not govern; the pages
 * themselves are unchanged.
 */

describe.skipIf(!hasChromium)(
  `accessibility of every page${hasChromium ? '' : ` (${noChromiumReason})`}`,
  { timeout: 180_000 },
  () => {
    let app: BrowserServer;
    let browser: Browser;
    let base: string;

    beforeAll(async () => {
      [app, browser] = await Promise.all([startBrowserServer(), launchBrowser()]);
      base = app.baseUrl;
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
    });

    it(
      '[A1] [A4] [S4] [O1] [X2] [X3] [X8] every page passes the WCAG 2.1 A and AA checks of axe-core, signed ' +
        'out and signed in',
      async () => {
        const context = await browser.newContext(DESKTOP);
        const page = await context.newPage();
        const found: Record<string, AxeViolation[]> = {};
        const check = async (path: string) => {
          if (path) await page.goto(`${base}${path}`);
          const v = await axeViolations(page);
          if (v.length > 0) found[path || page.url()] = v;
        };

        // /docs is the Scalar API reference, a third-party page for developers; axe finds problems there
        // (unnamed buttons, contrast) that only Scalar can fix, so it is not in this list.
        const publicPages = ['/trust', '/status', '/security/report', '/security/policy', '/security/thanks'];
        for (const path of [
          '/',
          '/signup',
          '/signin',
          '/magic-link',
          '/forgot-password',
          '/no-such-page',
          ...publicPages,
        ])
          await check(path);

        const email = await newVerifiedAccount(page, base, 'a11y');
        await signIn(page, base, email);
        await check('/account/security');
        await check('/account/totp/setup');
        // A form after a failed submit: errors sit next to their fields
        const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
        await page
          .getByLabel('Code from the app')
          .fill(totpCode(secret, new Date()) === '000000' ? '111111' : '000000');
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.locator('#field-code-error').waitFor();
        await check('');
        await page.getByLabel('Code from the app').fill(totpCode(secret, new Date()));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await heading(page, 'Two-factor sign-in is on');
        await check('');

        await page.goto(`${base}/orgs`);
        await check('');
        await page.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill('Access Co');
        await landOn(page, /\/orgs\/[0-9a-f-]{36}/, () =>
          page.getByRole('button', { name: 'Create organization' }).click(),
        );
        const org = new URL(page.url()).pathname;
        for (const section of ['', '/members', '/invitations', '/api-keys', '/audit', '/review'])
          await check(`${org}${section}`);
        await check('/account/step-up');
        await check('/dev/mailbox');

        // The second step of a sign-in, for this account that now has an app
        await page.goto(`${base}/account/security`);
        await landOn(page, `${base}/`, () =>
          page.getByRole('button', { name: 'Sign out', exact: true }).first().click(),
        );
        await page.goto(`${base}/signin`);
        await page.getByLabel('E-mail address').fill(email);
        await page.getByLabel('Password').fill(PASSWORD);
        await landOn(page, `${base}/signin/second-factor`, () =>
          page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in', exact: true }).click(),
        );
        await check('');
        await context.close();

        expect(found).toEqual({});
      },
    );
  },
);

import { createHash, randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientRegistry } from '../../src/oidc/clients.js';
import { systemClock } from '../../src/platform/clock.js';
import {
  axeViolations,
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  PHONE,
  screenshot,
  startBrowserServer,
  type BrowserServer,
} from '../helpers/browser.js';
import { heading, newVerifiedAccount, signIn } from './flows.js';

/*
 * A10: the pages a person meets when a product signs them in through Rampart, in Chromium at 1280
 * and 390 px: choosing an organization and consenting (third-party product), the provider's error
 * page, and the product's sign-out confirmation. Each passes axe-core's WCAG 2.1 A/AA checks.
 */

const REDIRECT = 'https://reports.example/callback';

describe.skipIf(!hasChromium)(`product sign-in pages${hasChromium ? '' : ` (${noChromiumReason})`}`, () => {
  let app: BrowserServer;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startBrowserServer(), launchBrowser()]);
    const registry = createClientRegistry({
      db: app.server.db,
      clock: systemClock,
      secretKey: Buffer.alloc(32),
      dev: true,
    });
    await registry.add({
      clientId: 'reports',
      name: 'Quarterly Reports',
      confidential: false,
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: ['https://reports.example/bye'],
      firstParty: false,
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const authorizeUrl = (redirect = REDIRECT) => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const q = new URLSearchParams({
      client_id: 'reports',
      response_type: 'code',
      redirect_uri: redirect,
      scope: 'openid email org',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st',
      nonce: 'no',
    });
    return `${app.baseUrl}/oidc/auth?${q}`;
  };

  it('[A10] choosing an organization and consenting, the error page: readable at 1280 and 390 px', async () => {
    for (const [size, options] of [
      ['1280', DESKTOP],
      ['390', PHONE],
    ] as const) {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      const email = await newVerifiedAccount(page, app.baseUrl, `oidc${size}`);
      await signIn(page, app.baseUrl, email);
      for (const name of ['Northwind', 'Globex']) {
        await page.goto(`${app.baseUrl}/orgs`);
        await page.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill(name);
        await page.getByRole('button', { name: 'Create organization' }).click();
        await page.waitForURL(/\/orgs\/[0-9a-f-]{36}/);
      }

      await page.goto(authorizeUrl());
      await heading(page, 'Sign in to Quarterly Reports');
      await expect(page.getByText('is not run by this service')).toBeDefined();
      await screenshot(page, `oidc-consent-${size}`);
      expect(await axeViolations(page)).toEqual([]);
      // Keyboard only: pick the second organization and allow.
      await page.getByLabel(/Globex/).focus();
      await page.keyboard.press('Space');
      // The product's callback is another site that does not exist here: the request to it is the proof.
      const callback = page.waitForRequest(/^https:\/\/reports\.example\/callback\?/);
      await page.getByRole('button', { name: 'Allow' }).click();
      const sent = new URL((await callback).url());
      expect(sent.searchParams.get('code')).toBeTruthy();
      expect(sent.searchParams.get('state')).toBe('st');

      // A page of its own: the one above is still failing to reach the product's (nonexistent) site.
      const errorPage = await context.newPage();
      await errorPage.goto(authorizeUrl('https://evil.example/callback'));
      await heading(errorPage, 'This sign-in cannot continue');
      await screenshot(errorPage, `oidc-error-${size}`);
      expect(await axeViolations(errorPage)).toEqual([]);
      await context.close();
    }
  }, 180_000);
});

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAnalytics, type AnalyticsApp } from '../../examples/analytics/app.js';
import { totpCode } from '../../src/mfa/totp.js';
import { createClientRegistry } from '../../src/oidc/clients.js';
import { systemClock } from '../../src/platform/clock.js';
import {
  cspViolations,
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  screenshot,
  startBrowserServer,
  watchProblems,
  type BrowserServer,
  type PageProblems,
} from '../helpers/browser.js';
import { freePort } from '../helpers/process.js';
import { heading, landOn, newVerifiedAccount, openMail, PASSWORD, sessionRows, signIn } from './flows.js';

/*
 * The example product (examples/analytics) against a real Rampart, in a real browser: a person signs
 * in to Acme Analytics through Rampart's pages (code + PKCE, with their authenticator app), the
 * product shows what the access token says, gates a page on a permission and another on a second
 * factor, sees a lowered role after a refresh, and is told by back-channel logout when the person
 * revokes that Rampart session.
 */

const CLIENT_ID = 'acme-analytics';

describe.skipIf(!hasChromium)(`the example product${hasChromium ? '' : ` (${noChromiumReason})`}`, () => {
  let browser: Browser;
  let app: BrowserServer;
  let product: AnalyticsApp;
  let productUrl: string;
  const contexts: BrowserContext[] = [];
  const problems: PageProblems[] = [];

  beforeAll(async () => {
    [browser, app] = await Promise.all([launchBrowser(), startBrowserServer()]);
    const port = await freePort();
    productUrl = `http://localhost:${port}`;
    // Registered as `rampart clients add` does it, in the running server's database.
    const registry = createClientRegistry({
      db: app.server.db,
      clock: systemClock,
      secretKey: Buffer.alloc(32),
      dev: true,
    });
    const { secret } = await registry.add({
      clientId: CLIENT_ID,
      name: 'Acme Analytics',
      confidential: true,
      redirectUris: [`${productUrl}/callback`],
      postLogoutRedirectUris: [`${productUrl}/signed-out`],
      backchannelLogoutUri: `${productUrl}/backchannel-logout`,
      firstParty: true,
    });
    product = await buildAnalytics({
      rampartUrl: app.baseUrl,
      publicUrl: productUrl,
      clientId: CLIENT_ID,
      clientSecret: secret!,
    });
    await product.app.listen({ port, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => {
    if (process.env.EXAMPLE_LOGS) console.log(app?.logs()); // Rampart's log, when a run needs explaining
    await product?.app.close();
    await browser?.close();
    await app?.close();
  });

  async function device(): Promise<Page> {
    const context = await browser.newContext(DESKTOP);
    contexts.push(context);
    problems.push(watchProblems(context));
    return context.newPage();
  }

  /** Both widths, for people to look at: `example-<name>-1280.png` and `-390.png`. */
  async function shots(page: Page, name: string): Promise<void> {
    await screenshot(page, `example-${name}-1280`);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, `example-${name}-390`);
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize(DESKTOP.viewport!);
  }

  /** On Rampart's pages: an account, an authenticator app (its key read off the page), an organization. */
  async function ownerWithOrg(owner: Page, label: string, orgName: string) {
    const base = app.baseUrl;
    const email = await newVerifiedAccount(owner, base, label);
    await signIn(owner, base, email);
    await landOn(owner, `${base}/account/totp/setup`, () =>
      owner.getByRole('link', { name: 'Set up an authenticator app' }).first().click(),
    );
    const totp = (await owner.locator('code.secret').innerText()).replace(/\s+/g, '');
    await owner.getByLabel('Code from the app').fill(totpCode(totp, new Date()));
    await owner.getByRole('button', { name: 'Turn on' }).click();
    await heading(owner, 'Two-factor sign-in is on');
    await landOn(owner, `${base}/account/security`, () => owner.getByRole('button', { name: 'I saved them' }).click());
    await owner.goto(`${base}/orgs`);
    await owner.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill(orgName);
    await landOn(owner, /\/orgs\/[0-9a-f-]{36}/, () =>
      owner.getByRole('button', { name: 'Create organization' }).click(),
    );
    const orgPath = new URL(owner.url()).pathname.replace(/\/$/, '');
    return { email, totp, orgPath, orgId: /[0-9a-f-]{36}/.exec(orgPath)![0] };
  }

  /** Password, then a code of the next time step (the enrollment code's step is spent), on Rampart's pages. */
  async function secondFactorSignIn(
    page: Page,
    email: string,
    totp: string,
    landing: string | ((url: URL) => boolean),
    start: () => Promise<unknown>,
  ): Promise<void> {
    await landOn(page, (url) => url.pathname === '/signin', start);
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await landOn(
      page,
      (url) => url.pathname === '/signin/second-factor',
      () => page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in', exact: true }).click(),
    );
    await page.getByLabel('Code from your authenticator app').fill(totpCode(totp, new Date(Date.now() + 30_000)));
    await landOn(page, landing, () => page.getByRole('button', { name: 'Verify code' }).click());
  }

  /**
   * Back-channel logout is delivered in the background: the product's pages are asked until one
   * answers signed out, saying that Rampart ended the session.
   */
  async function signedOutOnNextRequest(page: Page, path: string): Promise<void> {
    await expect
      .poll(
        async () => {
          await page.goto(`${productUrl}${path}`);
          return page.getByRole('heading', { level: 1 }).innerText();
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe('Acme Analytics');
    await page.getByRole('status').filter({ hasText: 'Rampart signed you out' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  }

  const header = (page: Page) => page.getByRole('region', { name: 'Signed in as' });
  const shown = async (page: Page, testId: string) => (await page.getByTestId(testId).innerText()).trim();

  it('[A10] [S3] [O3] [A4] sign in to the product through Rampart with an app code; the header shows org and role; ' +
    'one factor steps up at Rampart for billing; a lowered role signs the product out and its next token refuses ' +
    'Team settings; revoking the Rampart session signs the product out; Sign out ends both', {
    timeout: 300_000,
  }, async () => {
    const base = app.baseUrl;

    // The owner: an account, an authenticator app, an organization (on Rampart's own pages).
    const owner = await device();
    const { email: ownerEmail, totp, orgPath, orgId } = await ownerWithOrg(owner, 'owner', 'Acme Robotics');

    // A colleague joins as an admin.
    const member = await device();
    const memberEmail = await newVerifiedAccount(member, base, 'member');
    await signIn(member, base, memberEmail);
    await owner.goto(`${base}${orgPath}/members`);
    const invite = owner.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('E-mail address').fill(memberEmail);
    await invite.getByLabel('Role').selectOption('admin');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await owner.getByRole('status').first().waitFor();
    await openMail(member, base, memberEmail, 'You are invited to Acme Robotics on Rampart');
    await landOn(
      member,
      (url) => url.pathname === '/invitations/accept',
      () => member.getByRole('link', { name: /\/invitations\/accept\?org=/ }).click(),
    );
    await landOn(member, `${base}${orgPath}`, () => member.getByRole('button', { name: 'Accept invitation' }).click());

    // A10: the owner, on another browser, signs in to the product through Rampart's pages: password,
    // then a code from the app (code + PKCE between the product and Rampart), and lands back on it.
    const analytics = await device();
    await analytics.goto(productUrl);
    await heading(analytics, 'Acme Analytics');
    await shots(analytics, '01-landing');
    await secondFactorSignIn(analytics, ownerEmail, totp, `${productUrl}/`, () =>
      analytics.getByRole('link', { name: 'Sign in with Rampart' }).click(),
    );
    await heading(analytics, 'Dashboard');
    await header(analytics).waitFor();
    expect(await shown(analytics, 'email')).toBe(ownerEmail);
    expect(await shown(analytics, 'org')).toBe(orgId);
    expect(await shown(analytics, 'role')).toBe('owner');
    expect(await shown(analytics, 'factor')).toBe('two factors');
    expect(await analytics.getByRole('img', { name: /Visits per day this week/ }).count()).toBe(1);
    await shots(analytics, '02-dashboard');

    // O3: Team settings is the owner's; keyboard only, the form saves.
    await landOn(analytics, `${productUrl}/team`, () => analytics.getByRole('link', { name: 'Team settings' }).click());
    await heading(analytics, 'Team settings');
    await analytics.getByLabel('Keep raw events for').focus();
    await analytics.keyboard.press('End');
    await analytics.keyboard.press('Tab');
    await analytics.keyboard.press('Space');
    await analytics.keyboard.press('Tab');
    await landOn(analytics, `${productUrl}/team?saved=1`, () => analytics.keyboard.press('Enter'));
    await analytics.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    expect(await analytics.getByLabel('Keep raw events for').inputValue()).toBe('365');
    await shots(analytics, '03-team-settings');

    // A4: the app code made this a two-factor sign-in: billing export opens at once.
    await landOn(analytics, `${productUrl}/billing`, () =>
      analytics.getByRole('link', { name: 'Billing export' }).click(),
    );
    await heading(analytics, 'Billing export');
    await analytics.getByRole('table', { name: 'Invoices' }).waitFor();
    await shots(analytics, '04-billing-export');

    // The admin signs in to the product: Rampart already knows them (one factor), straight back.
    await member.goto(productUrl);
    await landOn(member, `${productUrl}/`, () => member.getByRole('link', { name: 'Sign in with Rampart' }).click());
    expect(await shown(member, 'role')).toBe('admin');
    expect(await shown(member, 'factor')).toBe('one factor');
    await member.goto(`${productUrl}/team`);
    await heading(member, 'Team settings');

    // A4 step-up: billing sends a one-factor sign-in back to Rampart asking for a second factor.
    await landOn(
      member,
      (url) => url.origin === base && url.pathname.startsWith('/oidc/interaction/'),
      () => member.goto(`${productUrl}/billing`),
    );
    await heading(member, 'Confirm with your second factor');
    await member.getByText('Acme Analytics asks you to confirm it is you with your second factor.').waitFor();
    await screenshot(member, 'example-05-billing-asks-rampart-for-second-factor');
    // The member sets up an authenticator app from there; the sign-in goes on, now with two factors,
    // and the product opens billing.
    await landOn(
      member,
      (url) => url.pathname === '/account/totp/setup',
      () => member.getByRole('button', { name: 'Set up an authenticator app' }).click(),
    );
    const memberTotp = (await member.locator('code.secret').innerText()).replace(/\s+/g, '');
    await member.getByLabel('Code from the app').fill(totpCode(memberTotp, new Date()));
    await member.getByRole('button', { name: 'Turn on' }).click();
    await heading(member, 'Two-factor sign-in is on');
    await landOn(member, `${productUrl}/billing`, () => member.getByRole('button', { name: 'I saved them' }).click());
    await heading(member, 'Billing export');
    expect(await shown(member, 'factor')).toBe('two factors');
    expect(await shown(member, 'role')).toBe('admin');

    // A token the SDK refuses (as an expired one is) is replaced with the refresh token, unseen.
    const cookie = (await member.context().cookies(productUrl)).find((c) => c.name === 'acme_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const session = product.sessions.get(cookie.value)!;
    const before = session.tokens!;
    session.tokens = { ...before, accessToken: `${before.accessToken.slice(0, -4)}AAAA` };
    await member.reload();
    await heading(member, 'Billing export');
    expect(session.tokens!.accessToken).not.toBe(before.accessToken);
    expect(session.tokens!.refreshToken).not.toBe(before.refreshToken); // rotated by Rampart

    // O3: the owner lowers the admin to member. Rampart tells the product at once (a back-channel
    // logout for the grants of that membership): the member's next request is signed out, and signing
    // in again (Rampart's session goes on: no password) brings a token with the new role.
    await owner.goto(`${base}${orgPath}/members`);
    const roleForm = owner.getByRole('form', { name: `Change the role of ${memberEmail}` });
    await roleForm.getByLabel(`Role of ${memberEmail}`, { exact: true }).selectOption('member');
    await roleForm.getByRole('button', { name: `Change the role of ${memberEmail}` }).click();
    await owner.getByRole('status').first().waitFor();
    await signedOutOnNextRequest(member, '/team');
    // The sign-in link of the signed-out page comes back to the page that asked for it.
    await member.getByRole('link', { name: 'Sign in with Rampart' }).click();
    await heading(member, 'You cannot open Team settings');
    expect(member.url()).toBe(`${productUrl}/team`);
    expect(await shown(member, 'role')).toBe('member');
    expect(await shown(member, 'org')).toBe(orgId);
    expect(await member.getByText('members.change_role', { exact: true }).count()).toBe(1);
    await shots(member, '06-team-settings-refused');
    // The refusal is the product's own 403, whatever the page was reached by.
    expect((await member.reload())?.status()).toBe(403);
    await member.getByRole('button', { name: 'Refresh access' }).click();
    await heading(member, 'You cannot open Team settings');

    // O3: removed from the organization, the member is signed out of the product again.
    await owner.goto(`${base}${orgPath}/members`);
    owner.once('dialog', (dialog) => void dialog.accept());
    await owner.getByRole('button', { name: `Remove ${memberEmail}` }).click();
    await owner.getByRole('status').first().waitFor();
    await signedOutOnNextRequest(member, '/');
    await screenshot(member, 'example-07-removed-member-signed-out');

    // S3: the owner revokes, from Rampart's account security page, the session the product signed in with.
    await owner.goto(`${base}/account/security`);
    const other = sessionRows(owner).filter({ hasNotText: '(this device)' });
    expect(await other.count()).toBe(1);
    await landOn(owner, `${base}/account/security?done=revoked`, () =>
      other.getByRole('button', { name: 'Revoke' }).click(),
    );
    // Back-channel logout: Rampart tells the product, whose next request is signed out (the access
    // token itself would still verify for up to 15 minutes).
    await signedOutOnNextRequest(analytics, '/billing');
    await shots(analytics, '08-signed-out-by-rampart');

    // RP-initiated logout: the member (still signed in at Rampart, now in no organization) signs in to
    // the product again; Sign out ends the product session, then Rampart's.
    await landOn(member, `${productUrl}/`, () => member.getByRole('link', { name: 'Sign in with Rampart' }).click());
    expect(await shown(member, 'org')).toBe('none');
    await landOn(
      member,
      (url) => url.origin === base,
      () => member.getByRole('button', { name: 'Sign out' }).click(),
    );
    await screenshot(member, 'example-09-rampart-end-session');
    await landOn(member, `${productUrl}/signed-out`, () =>
      member.getByRole('button', { name: 'Yes, sign me out' }).click(),
    );
    await heading(member, 'You are signed out');
    // …and Rampart's session with it (ended right after the confirmation is answered).
    await expect
      .poll(
        async () => {
          await member.goto(`${base}/account/security`);
          return new URL(member.url()).pathname;
        },
        { timeout: 10_000, interval: 500 },
      )
      .toBe('/signin');

    for (const p of problems) expect(cspViolations(p)).toEqual([]);
    for (const c of contexts) await c.close();
  });
});

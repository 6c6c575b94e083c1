import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
} from '../helpers/browser.js';
import { heading, landOn, newVerifiedAccount, openMail, signIn } from './flows.js';

describe.skipIf(!hasChromium)(`organizations in a real browser${hasChromium ? '' : ` (${noChromiumReason})`}`, () => {
  let browser: Browser;
  let app: BrowserServer;

  beforeAll(async () => {
    [browser, app] = await Promise.all([launchBrowser(), startBrowserServer()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('[O1] [O3] an owner invites a colleague who accepts from the mail; made a viewer, their next change is ' +
    'refused; removed, their next request fails', {
    timeout: 240_000,
  }, async () => {
    const base = app.baseUrl;
    const ownerContext = await browser.newContext(DESKTOP);
    const colleagueContext = await browser.newContext(DESKTOP);
    const problems = [watchProblems(ownerContext), watchProblems(colleagueContext)];
    const owner = await ownerContext.newPage();
    const colleague = await colleagueContext.newPage();

    const ownerEmail = await newVerifiedAccount(owner, base, 'owner');
    await signIn(owner, base, ownerEmail);
    const colleagueEmail = await newVerifiedAccount(colleague, base, 'colleague');
    await signIn(colleague, base, colleagueEmail);

    // The owner creates the organization and invites the colleague as an admin.
    await owner.goto(`${base}/orgs`);
    await heading(owner, 'Your organizations');
    await owner.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill('Acme Robotics');
    await landOn(owner, /\/orgs\/[0-9a-f-]{36}/, () =>
      owner.getByRole('button', { name: 'Create organization' }).click(),
    );
    const orgUrl = new URL(owner.url()).pathname.replace(/\/$/, '');
    await owner.goto(`${base}${orgUrl}/members`);
    const invite = owner.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('E-mail address').fill(colleagueEmail);
    await invite.getByLabel('Role').selectOption('admin');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await owner.getByRole('status').first().waitFor();
    await screenshot(owner, 'o3-01-invited');

    // The colleague accepts from the mail.
    await openMail(colleague, base, colleagueEmail, 'You are invited to Acme Robotics on Rampart');
    const link = colleague.getByRole('link', { name: /\/invitations\/accept\?org=/ });
    await landOn(
      colleague,
      (url) => url.pathname === '/invitations/accept',
      () => link.click(),
    );
    await heading(colleague, 'Join an organization');
    await screenshot(colleague, 'o3-02-accept');
    await landOn(colleague, `${base}${orgUrl}`, () =>
      colleague.getByRole('button', { name: 'Accept invitation' }).click(),
    );
    await heading(colleague, 'Acme Robotics');
    // As an admin, the colleague sees the rename form and leaves this page open.
    await colleague.getByRole('form', { name: 'Rename organization' }).waitFor();
    await screenshot(colleague, 'o3-03-colleague-as-admin');

    // The owner makes the colleague a viewer.
    await owner.goto(`${base}${orgUrl}/members`);
    const roleForm = owner.getByRole('form', { name: `Change the role of ${colleagueEmail}` });
    await roleForm.getByLabel(`Role of ${colleagueEmail}`, { exact: true }).selectOption('viewer');
    await roleForm.getByRole('button', { name: `Change the role of ${colleagueEmail}` }).click();
    await owner.getByRole('status').first().waitFor();
    await screenshot(owner, 'o3-04-made-viewer');

    // The colleague's next change, from the page still open, is refused.
    await colleague.getByRole('form', { name: 'Rename organization' }).getByLabel('Name').fill('Hijacked');
    await colleague.getByRole('form', { name: 'Rename organization' }).getByRole('button', { name: 'Rename' }).click();
    await heading(colleague, 'You cannot do that');
    await screenshot(colleague, 'o3-05-viewer-refused');
    await owner.goto(`${base}${orgUrl}`);
    await heading(owner, 'Acme Robotics');

    // The owner removes the colleague; the colleague's next request to the organization fails.
    await owner.goto(`${base}${orgUrl}/members`);
    owner.once('dialog', (dialog) => void dialog.accept());
    await owner.getByRole('button', { name: `Remove ${colleagueEmail}` }).click();
    await owner.getByRole('status').first().waitFor();
    expect(await owner.getByRole('cell', { name: colleagueEmail }).count()).toBe(0);
    const response = await colleague.goto(`${base}${orgUrl}`);
    expect(response?.status()).toBe(404);
    await heading(colleague, 'Not found');
    await screenshot(colleague, 'o3-06-removed');

    for (const p of problems) expect(cspViolations(p)).toEqual([]);
    await ownerContext.close();
    await colleagueContext.close();
  });
});

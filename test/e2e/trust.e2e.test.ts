import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeViolations,
  type BrowserServer,
  cspViolations,
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  PHONE,
  screenshot,
  startBrowserServer,
  watchProblems,
} from '../helpers/browser.js';
import { heading, landOn, signedInOperator } from './flows.js';

/*
 * X8 + O2 in a real browser on a real server: the database owner switches row-level security off a
 * tenant table, the operator runs the checks from the console, the public trust page shows O2
 * failing with the reason; once fixed and run again, passing.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

let app: BrowserServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  [app, browser] = await Promise.all([startBrowserServer(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await app?.close();
});

const o2 = (page: Page) => page.locator('article#O2');

async function runChecks(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/operator/trust`);
  await heading(page, 'Trust checks');
  await landOn(page, `${base}/operator/trust?done=run`, () =>
    page.getByRole('button', { name: 'Run checks now' }).click(),
  );
  await page.getByRole('status').filter({ hasText: 'The checks ran' }).waitFor();
}

describe.skipIf(!hasChromium)('[X8] the live trust page in a real browser', () => {
  it('[X8][O2] O2 fails once RLS is off a tenant table, the operator reruns, and it passes once fixed', async () => {
    const base = app.baseUrl;
    const context = await browser.newContext(DESKTOP);
    contexts.push(context);
    const problems = watchProblems(context);
    const page = await context.newPage();

    // The operator: a verified account with an authenticator app, granted the console.
    await signedInOperator(page, base, app.server.db, 'trust-operator');

    // First visit: nothing was checked yet, so the page runs the checks once.
    await page.goto(`${base}/trust`);
    await heading(page, 'Rampart trust page');
    await expect.poll(() => o2(page).locator('[data-status]').first().innerText()).toBe('Passing');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'x8-01-trust-passing');

    // Break it on purpose, as the database owner would.
    await sql`alter table memberships no force row level security`.execute(app.server.db.owner);
    await runChecks(page, base);
    expect(await page.locator('tr[data-check="row-level-security"]').innerText()).toMatch(/Failing/);
    expect(await page.locator('main').first().innerText()).toMatch(/memberships: row-level security is not forced/);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'x8-02-operator-trust-failing');

    await page.goto(`${base}/trust`);
    expect(await o2(page).locator('[data-status]').first().innerText()).toBe('Failing');
    expect(await o2(page).innerText()).toMatch(/memberships: row-level security is not forced/);
    await screenshot(page, 'x8-03-trust-o2-failing');

    const phone = await browser.newContext(PHONE);
    contexts.push(phone);
    const small = await phone.newPage();
    await small.goto(`${base}/trust#O2`);
    expect(await o2(small).locator('[data-status]').first().innerText()).toBe('Failing');
    await screenshot(small, 'x8-04-trust-o2-failing-phone');

    // Fixed, and run again: passing, with the change in the console's history.
    await sql`alter table memberships force row level security`.execute(app.server.db.owner);
    await runChecks(page, base);
    expect(await page.locator('tr[data-check="row-level-security"]').innerText()).toMatch(/Passing/);
    expect(await page.locator('main').first().innerText()).toMatch(/Failing\s+Passing/);
    await screenshot(page, 'x8-05-operator-trust-fixed');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'x8-06-operator-trust-fixed-phone');

    await page.goto(`${base}/trust`);
    expect(await o2(page).locator('[data-status]').first().innerText()).toBe('Passing');
    await small.reload();
    await screenshot(small, 'x8-07-trust-passing-phone');
    expect(cspViolations(problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  }, 180_000);
});

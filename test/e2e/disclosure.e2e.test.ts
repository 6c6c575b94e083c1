import type { Browser } from 'playwright-core';
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
import { heading, landOn, openMail, signedInOperator, uniqueEmail } from './flows.js';

/*
 * X3 in a real browser: a reporter with JavaScript off sends the report form of a real server, reads
 * the mail with its reference in the dev mailbox and follows the status link; an operator (an account
 * with an authenticator app, granted the console on that server's database) acknowledges the report,
 * which mails the reporter.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

describe.skipIf(!hasChromium)('[X3] vulnerability disclosure in a real browser', { timeout: 180_000 }, () => {
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

  it('[X3] a reporter without JavaScript reports; the mail has the reference; the operator acknowledges', async () => {
    // The reporter: JavaScript off, the form works as plain HTML.
    const reporterContext = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
    const reporterProblems = watchProblems(reporterContext);
    const reporter = await reporterContext.newPage();
    await reporter.goto(`${base}/security/report`);
    await heading(reporter, 'Report a security problem');
    await screenshot(reporter, 'x3-report-form-1280');
    const email = uniqueEmail('reporter');
    await reporter.getByLabel('Summary').fill('Open redirect in the sign-in next parameter');
    await reporter
      .getByLabel('Details')
      .fill('Signing in with next=//evil.example sends the browser to evil.example after sign-in. Seen on 1.4.');
    await reporter.getByLabel('Affected area or address').fill('/signin?next=');
    await reporter.getByLabel('Your e-mail address').fill(email);
    await reporter.getByLabel('Your name', { exact: true }).fill('Grace Reporter');
    await reporter.getByLabel('Credit me on the public thanks page').check();
    // A person takes a few seconds: the form's token refuses anything quicker than three.
    await reporter.waitForTimeout(3_500);
    await landOn(reporter, /\/security\/report\/sent\?ref=VR-/, () =>
      reporter.getByRole('button', { name: 'Send the report' }).click(),
    );
    const reference = /ref=(VR-[A-Z2-7-]+)/.exec(reporter.url())![1]!;
    await reporter.getByText(reference).first().waitFor();

    await openMail(reporter, base, email, `Your security report ${reference} was received`);
    await reporter.getByText(`Your tracking reference: ${reference}`).waitFor();
    const statusLink = await reporter
      .getByRole('link', { name: /\/security\/report\/status\?token=/ })
      .getAttribute('href');
    await reporter.goto(statusLink!);
    await heading(reporter, `Security report ${reference}`);
    await reporter.getByText('New', { exact: true }).waitFor();
    await screenshot(reporter, 'x3-report-status-1280');

    const phoneReporter = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
    const phonePage = await phoneReporter.newPage();
    await phonePage.goto(`${base}/security/report`);
    await heading(phonePage, 'Report a security problem');
    await screenshot(phonePage, 'x3-report-form-390');
    await phoneReporter.close();

    // The operator: an account with an authenticator app (a two-factor session), granted the console.
    const opContext = await browser.newContext(DESKTOP);
    const opProblems = watchProblems(opContext);
    const op = await opContext.newPage();
    await signedInOperator(op, base, app.server.db);

    await op.goto(`${base}/operator/disclosure`);
    await heading(op, 'Vulnerability reports');
    const row = op.getByRole('row').filter({ hasText: reference });
    await row.getByText('Due').waitFor();
    await screenshot(op, 'x3-console-reports-1280');
    await landOn(op, /\/operator\/disclosure\/[0-9a-f-]{36}$/, () =>
      row.getByRole('link', { name: reference }).click(),
    );
    await heading(op, `Report ${reference}`);
    expect(await axeViolations(op)).toEqual([]);
    await op.goto(`${base}/security/report`);
    expect(await axeViolations(op)).toEqual([]);
    await op.goBack();
    await op.getByLabel('New status').selectOption('acknowledged');
    await landOn(op, /\?done=status$/, () => op.getByRole('button', { name: 'Save and mail the reporter' }).click());
    await op.getByRole('status').filter({ hasText: 'The status is changed.' }).waitFor();
    await op.getByText('Acknowledged in time').waitFor();
    await screenshot(op, 'x3-console-report-1280');

    const phoneOp = await browser.newContext({ ...PHONE, storageState: await opContext.storageState() });
    const phoneOpPage = await phoneOp.newPage();
    await phoneOpPage.goto(op.url());
    await heading(phoneOpPage, `Report ${reference}`);
    await screenshot(phoneOpPage, 'x3-console-report-390');
    await phoneOpPage.goto(`${base}/operator/disclosure`);
    await heading(phoneOpPage, 'Vulnerability reports');
    await screenshot(phoneOpPage, 'x3-console-reports-390');
    await phoneOp.close();

    await openMail(reporter, base, email, `Your security report ${reference} was acknowledged`);
    await reporter.goto(statusLink!);
    await reporter.getByText('Acknowledged', { exact: true }).first().waitFor();

    expect(cspViolations(reporterProblems)).toEqual([]);
    expect(cspViolations(opProblems)).toEqual([]);
    expect(opProblems.errors).toEqual([]);
    await reporterContext.close();
    await opContext.close();
  });
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlineRecipients, mailOverdueDeadlines } from '../../src/incidents/index.js';
import { createOperatorConsole } from '../../src/operator/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createDevMailbox } from '../../src/platform/mail/index.js';
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
import { heading, landOn, openMail, signedInOperator } from './flows.js';

const HOUR = 3_600_000;

describe.skipIf(!hasChromium)(`incidents in a real browser${hasChromium ? '' : ` (${noChromiumReason})`}`, () => {
  let browser: Browser;
  let app: BrowserServer;

  beforeAll(async () => {
    [browser, app] = await Promise.all([launchBrowser(), startBrowserServer()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('[X1] an operator declares a personal-data breach noticed 73 hours ago; the console flags it overdue; ' +
    'the deadline job mails it once', { timeout: 240_000 }, async () => {
    const base = app.baseUrl;
    const context = await browser.newContext(DESKTOP);
    const problems = watchProblems(context);
    const page = await context.newPage();
    const email = await signedInOperator(page, base, app.server.db);

    await page.goto(`${base}/operator/incidents`);
    await heading(page, 'Incidents');
    await landOn(page, `${base}/operator/incidents/new`, () =>
      page.getByRole('button', { name: 'Declare an incident' }).click(),
    );
    await screenshot(page, 'x1-01-declare');
    const form = page.getByRole('form', { name: 'Declare an incident' });
    await form.getByLabel('Title', { exact: true }).fill('Customer export bucket readable');
    await form.getByLabel('Severity').selectOption('critical');
    await form.getByLabel('This is a personal-data breach').check();
    const aware = new Date(Date.now() - 73 * HOUR);
    await form.getByLabel('Became aware at (UTC)').fill(aware.toISOString().slice(0, 16));
    await form.getByLabel('The supervisory authority must be notified').check();
    await form.getByLabel('What happened (facts)').fill('A storage bucket of CSV exports was publicly readable.');
    await form.getByLabel('First update', { exact: true }).fill('Bucket closed; access logs under review.');
    await landOn(page, /\/operator\/incidents\/[0-9a-f-]{36}\?done=declared$/, () =>
      form.getByRole('button', { name: 'Declare' }).click(),
    );
    const id = /incidents\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await heading(page, 'Customer export bucket readable');
    const flags = page.getByRole('list', { name: 'Needs attention' });
    await flags.getByText('Overdue: Notify affected customers (72 h)').waitFor();
    await flags.getByText('Overdue: Notify the supervisory authority (72 h, GDPR Art. 33)').waitFor();
    await screenshot(page, 'x1-02-breach-overdue');
    expect(await axeViolations(page)).toEqual([]);
    // Every label names one field: the page's several forms share no id. (The operator console's shell
    // repeats the layout's id="main"; that is the console's, reported to its owner.)
    const ids = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
    expect(ids.filter((v, i) => v !== 'main' && ids.indexOf(v) !== i)).toEqual([]);

    await page.goto(`${base}/operator/incidents`);
    await page.getByRole('link', { name: 'Customer export bucket readable' }).waitFor();
    await page.getByText('Overdue: Notify affected customers (72 h)').first().waitFor();
    await screenshot(page, 'x1-03-list');

    // The job, as another instance of this deployment runs it: twice, and one mail per deadline.
    const job = {
      db: app.server.db,
      clock: systemClock,
      mailer: createDevMailbox(app.server.db, 'rampart@localhost'),
      logger: app.server.logger,
      baseUrl: base,
      recipients: deadlineRecipients(createOperatorConsole({ db: app.server.db, clock: systemClock })),
    };
    const [first, second] = await Promise.all([mailOverdueDeadlines(job), mailOverdueDeadlines(job)]);
    expect(first + second).toBe(2); // customers and regulator; the 7-day report is not due yet
    expect(await mailOverdueDeadlines(job)).toBe(0);
    await openMail(page, base, email, 'Overdue breach deadline: Customer export bucket readable');
    await page.getByText(`/operator/incidents/${id}`).first().waitFor();
    await screenshot(page, 'x1-04-deadline-mail');

    // The regulator notification, late: refused without the reasons, recorded with them.
    await page.goto(`${base}/operator/incidents/${id}`);
    const record = page.getByRole('form', { name: 'Record: Notify the supervisory authority (72 h, GDPR Art. 33)' });
    await record.getByRole('button', { name: 'Record' }).click();
    await page.locator('#field-lateReason-regulator-error').waitFor();
    await screenshot(page, 'x1-05-late-needs-reason');
    await page
      .getByRole('form', { name: 'Record: Notify the supervisory authority (72 h, GDPR Art. 33)' })
      .getByLabel('Reasons for the delay (when late)')
      .fill('The affected records were only identified on day 3.');
    await landOn(page, `${base}/operator/incidents/${id}?done=notifications`, () =>
      page
        .getByRole('form', { name: 'Record: Notify the supervisory authority (72 h, GDPR Art. 33)' })
        .getByRole('button', { name: 'Record' })
        .click(),
    );
    await page.goto(`${base}/operator/incidents/breaches`);
    await heading(page, 'Breach register');
    await page.getByText('late: The affected records were only identified on day 3.').waitFor();
    await screenshot(page, 'x1-06-register');

    // An affected organization (the operator's own, here) gets the notice on its page, its owner a mail.
    await page.goto(`${base}/orgs`);
    await page.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill('Acme Robotics');
    await landOn(page, /\/orgs\/[0-9a-f-]{36}/, () =>
      page.getByRole('button', { name: 'Create organization' }).click(),
    );
    const orgId = /\/orgs\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await page.goto(`${base}/operator/incidents/${id}`);
    const notify = page.getByRole('form', { name: 'Notify affected organizations' });
    await notify.getByLabel('Organization ids, one a line').fill(orgId);
    await notify.getByLabel(/^Notice/).fill('Exports of your reports were readable for two days. Rotate shared links.');
    await notify
      .getByLabel('Reasons for the delay (when past 72 h)')
      .fill('The affected customers were identified late.');
    await landOn(page, `${base}/operator/incidents/${id}?done=notify-orgs`, () =>
      notify.getByRole('button', { name: 'Notify' }).click(),
    );
    await openMail(page, base, email, 'Security notice: Customer export bucket readable');
    await page.goto(`${base}/orgs/${orgId}/security-notices`);
    await heading(page, 'Security notices');
    await page.getByText('Exports of your reports were readable for two days.').waitFor();
    await screenshot(page, 'x1-11-org-notices');

    const phone = await browser.newContext({ ...PHONE, storageState: await context.storageState() });
    const small = await phone.newPage();
    for (const [path, name] of [
      [`/operator/incidents/${id}`, 'x1-07-breach-390'],
      ['/operator/incidents', 'x1-08-list-390'],
      ['/operator/incidents/new', 'x1-09-declare-390'],
      ['/operator/incidents/breaches', 'x1-10-register-390'],
      [`/orgs/${orgId}/security-notices`, 'x1-12-org-notices-390'],
    ] as const) {
      await small.goto(`${base}${path}`);
      await screenshot(small, name);
    }
    expect(cspViolations(problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
    await phone.close();
    await context.close();
  });
});

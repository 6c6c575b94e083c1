import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import {
  axeViolations,
  cspViolations,
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  PHONE,
  screenshot,
  watchProblems,
} from '../helpers/browser.js';
import { createOperatorConsole } from '../../src/operator/index.js';
import { accounts, freshEmail } from '../helpers/accounts.js';
import { TestClient } from '../helpers/client.js';
import { enrollTotp } from '../helpers/mfa.js';
import { freePorts } from '../helpers/process.js';
import { heading, landOn } from './flows.js';

/*
 * X2 in a real browser, on a real server: an operator (two-factor session, granted the console)
 * adds a component on /operator/status, declares a public incident on it through the incidents
 * console, walks it through its phases, and the public page, its incident page and the Atom feed
 * (parsed by Chromium's own XML parser) show it.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

let t: TestApp;
let browser: Browser;
let base: string;
let operatorCookies: { name: string; value: string }[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  const [port] = (await freePorts(1)) as [number];
  base = `http://localhost:${port}`;
  t = await createTestApp({ RAMPART_BASE_URL: base, PORT: String(port), LOG_LEVEL: 'warn' }, undefined, {
    realTime: true,
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  // The operator's account: verified, an authenticator app enrolled (a two-factor session), granted the console.
  const people = accounts(t);
  const email = freshEmail();
  const browserLike = () => new TestClient(t.app, { origin: base });
  const token = await people.signUp(email, browserLike());
  expect((await browserLike().api('POST', '/api/v1/email-verification', { token })).statusCode).toBe(200);
  const client = await people.signedIn(email, t, { origin: base });
  await enrollTotp(t, client);
  await createOperatorConsole({ db: t.db, clock: t.clock }).grant(email);
  operatorCookies = [...client.cookies].map(([name, value]) => ({ name, value }));
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function operatorContext(device: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext({
    ...device,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  });
  // Cookies are set for the https origin: Chromium then sends Secure (and __Host-) cookies to localhost too.
  const secureOrigin = base.replace('http:', 'https:');
  await context.addCookies(
    operatorCookies.map((c) => ({ ...c, url: secureOrigin, secure: true, sameSite: 'Lax' as const })),
  );
  return context;
}

async function phase(page: Page, incidentUrl: string, to: string, message: string) {
  await page.goto(incidentUrl);
  const form = page.getByRole('form', { name: 'Move to a later phase' });
  await form.getByLabel('Move to phase').selectOption(to);
  await form.getByLabel('Update (optional)').fill(message);
  await form.getByLabel('Publish the update on the status page').check();
  await landOn(
    page,
    (u) => u.pathname === new URL(incidentUrl).pathname,
    () => form.getByRole('button', { name: 'Move' }).click(),
  );
}

describe.skipIf(!hasChromium)('[X2] status page in a real browser', () => {
  it('[X2] a component and a public incident walked through its phases appear on /status and in the feed', async () => {
    const context = await operatorContext(DESKTOP);
    const problems = watchProblems(context);
    const page = await context.newPage();
    try {
      await page.goto(`${base}/operator/status`);
      await heading(page, 'Status page');
      const add = page.getByRole('form', { name: 'Add a component' });
      await add.getByLabel('Id', { exact: true }).fill('checkout');
      await add.getByLabel('Name', { exact: true }).fill('Checkout');
      await add.getByLabel('Description').fill('Payments and the cart');
      await landOn(page, /\/operator\/status\?done=added/, () =>
        add.getByRole('button', { name: 'Add component' }).click(),
      );
      await expect(page.getByRole('link', { name: 'Checkout' })).toBeTruthy();

      await page.goto(`${base}/operator/incidents/new`);
      const declare = page.getByRole('form', { name: 'Declare an incident' });
      await declare.getByLabel('Title').fill('Checkout failing');
      await declare.getByLabel('Impact on the components').selectOption('partial_outage');
      await declare.getByLabel('Checkout').check();
      await declare.getByLabel('Show on the public status page').check();
      await declare.getByLabel('First update', { exact: true }).fill('Some payments fail; we are looking into it.');
      await declare.getByLabel('Publish the first update on the status page').check();
      await landOn(page, /\/operator\/incidents\/[^/?]+\?done=declared/, () =>
        declare.getByRole('button', { name: 'Declare' }).click(),
      );
      const incidentUrl = page.url().split('?')[0]!;
      const id = new URL(incidentUrl).pathname.split('/').pop()!;

      await page.goto(`${base}/status`);
      await heading(page, 'Rampart status');
      expect(await page.getByText('Partial System Outage').count()).toBe(1);
      const current = page.getByRole('region', { name: 'Current incidents and maintenance' });
      expect(await current.getByRole('link', { name: 'Checkout failing' }).count()).toBe(1);
      const component = page.locator('#component-checkout');
      expect(await component.getByText('Partial outage').count()).toBe(1);

      await phase(page, incidentUrl, 'contain', 'A bad release of the payment client; rolling back.');
      await phase(page, incidentUrl, 'recover', 'Rolled back; payments succeed again. Watching.');
      await page.goto(incidentUrl);
      await landOn(
        page,
        (u) => u.pathname === new URL(incidentUrl).pathname,
        () =>
          page
            .getByRole('form', { name: 'Service restored' })
            .getByRole('button', { name: 'Record restoration' })
            .click(),
      );

      await page.goto(`${base}/status`);
      expect(await page.getByText('All Systems Operational').count()).toBe(1);
      const history = page.getByRole('region', { name: 'Incident history (last 90 days)' });
      await landOn(page, new RegExp(`/status/incidents/${id}$`), () =>
        history.getByRole('link', { name: 'Checkout failing' }).click(),
      );
      await heading(page, 'Checkout failing');
      for (const text of [
        'Some payments fail; we are looking into it.',
        'A bad release of the payment client; rolling back.',
        'Rolled back; payments succeed again. Watching.',
      ])
        expect(await page.getByText(text).count()).toBe(1);

      // Chromium's XML parser: a feed that is not well-formed comes back as a <parsererror> document.
      const feed = await page.evaluate(async (url) => {
        const res = await fetch(url);
        const doc = new DOMParser().parseFromString(await res.text(), 'application/xml');
        return {
          type: res.headers.get('content-type'),
          error: doc.getElementsByTagName('parsererror').length,
          ns: doc.documentElement.namespaceURI,
          titles: [...doc.getElementsByTagName('entry')].map((e) => e.getElementsByTagName('title')[0]?.textContent),
        };
      }, `${base}/status/feed.atom`);
      expect(feed).toEqual({
        type: 'application/atom+xml; charset=utf-8',
        error: 0,
        ns: 'http://www.w3.org/2005/Atom',
        titles: ['Checkout failing: Monitoring', 'Checkout failing: Identified', 'Checkout failing: Investigating'],
      });
      const summary = await page.evaluate(async (url) => (await fetch(url)).json(), `${base}/status/summary.json`);
      expect(summary.components.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
        ['checkout', 'operational'],
      ]);
      expect(cspViolations(problems)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  for (const [label, device] of [
    ['1280', DESKTOP],
    ['390', PHONE],
  ] as Array<[string, BrowserContextOptions]>) {
    it(`[X2] /status reads without an account, passes axe, and is photographed (${label} px)`, async () => {
      const context = await browser.newContext(device);
      const problems = watchProblems(context);
      const page = await context.newPage();
      try {
        await t.runJob('status.probes'); // today's bar has observed minutes
        await page.goto(`${base}/status`);
        await heading(page, 'Rampart status');
        const bars = page.locator('svg.uptime-bars rect');
        expect(await bars.count()).toBe(90);
        expect(await bars.last().getAttribute('aria-label')).toMatch(/^\d{4}-\d\d-\d\d: /);
        expect(await page.getByText('observed minutes − maintenance minutes', { exact: false }).count()).toBe(1);
        expect(await axeViolations(page)).toEqual([]);
        await screenshot(page, `status-${label}`);
        const incident = page.getByRole('link', { name: 'Checkout failing' }).first();
        await incident.click();
        await heading(page, 'Checkout failing');
        await screenshot(page, `status-incident-${label}`);
        expect(cspViolations(problems)).toEqual([]);
      } finally {
        await context.close();
      }
      const operator = await operatorContext(device);
      try {
        const op = await operator.newPage();
        await op.goto(`${base}/operator/status`);
        await heading(op, 'Status page');
        expect(await axeViolations(op)).toEqual([]);
        await screenshot(op, `status-console-${label}`);
        await op.goto(`${base}/operator/status/components/checkout`);
        await heading(op, 'Checkout');
        expect(await axeViolations(op)).toEqual([]);
        await screenshot(op, `status-console-component-${label}`);
      } finally {
        await operator.close();
      }
    });
  }
});

import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAnalytics, type AnalyticsApp } from '../../examples/analytics/app.js';
import { CRM_CONTACTS, type DemoCrm, startDemoCrm } from '../../examples/analytics/crm.js';
import { IMPORT_PURPOSE } from '../../examples/analytics/integrations.js';
import { createClientRegistry } from '../../src/oidc/clients.js';
import { createOperatorConsole } from '../../src/operator/index.js';
import { systemClock } from '../../src/platform/clock.js';
import {
  axeViolations,
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
import { makeCertificate } from '../helpers/certificates.js';
import { freePort } from '../helpers/process.js';
import { enrollTotp, heading, landOn, newVerifiedAccount, signIn } from './flows.js';

/*
 * The example connector, end to end in a real browser: the operator registers "Acme CRM" as a
 * provider, an organization owner pastes the CRM's API key on Rampart's Connections page and sees it
 * masked, then imports contacts in Acme Analytics — which asks Rampart, with the person's access token,
 * to send the request through the connection — and finds the use in the organization's audit log.
 * The key reaches the CRM and is never shown on any page.
 */

const CLIENT_ID = 'acme-analytics';

describe.skipIf(!hasChromium)(`the vault's example connector${hasChromium ? '' : ` (${noChromiumReason})`}`, () => {
  let browser: Browser;
  let app: BrowserServer;
  let crm: DemoCrm;
  let product: AnalyticsApp;
  let productUrl: string;
  const apiKey = `crm_live_${randomBytes(24).toString('base64url')}`;
  let problems: PageProblems;

  beforeAll(async () => {
    const tls = makeCertificate();
    crm = await startDemoCrm({ apiKey, cert: tls.cert, key: tls.key });
    // The CRM's certificate is self-signed: Rampart trusts it as an operator trusts a vendor's private CA.
    [browser, app] = await Promise.all([
      launchBrowser(),
      startBrowserServer({ RAMPART_OUTBOUND_CA_FILE: tls.certFile }),
    ]);
    const port = await freePort();
    productUrl = `http://localhost:${port}`;
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
    await product?.app.close();
    await browser?.close();
    await app?.close();
    await crm?.close();
  });

  async function shots(page: Page, name: string): Promise<void> {
    await screenshot(page, `vault-${name}-1280`);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, `vault-${name}-390`);
    // Nothing is wider than the phone's screen (wide tables scroll inside their own box).
    expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(390);
    await page.setViewportSize(DESKTOP.viewport!);
  }

  it('[D1] [L1] [T3] an owner pastes a CRM key (shown masked, checked valid), the product imports contacts ' +
    'through the connection, and the use is in the audit log; the key is on no page', {
    timeout: 300_000,
  }, async () => {
    const base = app.baseUrl;
    const context = await browser.newContext(DESKTOP);
    problems = watchProblems(context);
    const page = await context.newPage();
    const seen: string[] = [];
    page.on('response', async (res) => {
      if ((res.headers()['content-type'] ?? '').includes('text/html')) seen.push(await res.text().catch(() => ''));
    });

    // A person with an authenticator app, granted the console, who owns an organization.
    const email = await newVerifiedAccount(page, base, 'crm-owner');
    await signIn(page, base, email);
    await enrollTotp(page, base);
    await createOperatorConsole({ db: app.server.db, clock: systemClock }).grant(email);

    // The operator registers the provider: where its key may go, how it is sent, how it is checked.
    await page.goto(`${base}/operator/connections`);
    const form = page.getByRole('form', { name: 'Save provider' });
    await form.getByLabel('Id', { exact: true }).fill('acme-crm');
    await form.getByLabel('Name', { exact: true }).fill('Acme CRM');
    await form.locator('select[name=kind]').selectOption('api_key');
    await form.getByLabel('Allowed hosts').fill(crm.host);
    await form.locator('select[name=authStyle]').selectOption('bearer');
    await form.locator('select[name=validationMethod]').selectOption('GET');
    await form.getByLabel('Validation path').fill('/v1/me');
    await form.getByRole('button', { name: /Save provider|Add provider/ }).click();
    await page.getByRole('cell', { name: 'Acme CRM' }).first().waitFor();
    await shots(page, '01-operator-providers');
    expect(await axeViolations(page)).toEqual([]);
    // The console's other new pages: the master keys (D3) and the jobs with their last runs.
    for (const [path, title] of [
      ['/operator/keys', 'Master keys'],
      ['/operator/jobs', 'Scheduled jobs'],
    ] as const) {
      await page.goto(`${base}${path}`);
      await heading(page, title);
      await shots(page, `00-operator-${path.split('/').pop()}`);
      expect(await axeViolations(page)).toEqual([]);
    }

    await page.goto(`${base}/orgs`);
    await page.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill('Acme Robotics');
    await landOn(page, /\/orgs\/[0-9a-f-]{36}/, () =>
      page.getByRole('button', { name: 'Create organization' }).click(),
    );
    const orgId = /[0-9a-f-]{36}/.exec(new URL(page.url()).pathname)![0];

    // The owner pastes the key; the page answers with its mask and the check's verdict.
    await page.goto(`${base}/orgs/${orgId}/connections`);
    const add = page.getByRole('form', { name: 'Add connection' });
    await add.locator('select[name=providerId]').selectOption('acme-crm');
    await add.getByLabel('Label').fill('Sales CRM');
    await add.getByLabel('Key or password').fill(apiKey);
    await add.getByRole('button', { name: 'Add connection' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Sales CRM' });
    await row.waitFor();
    expect(await row.innerText()).toContain(apiKey.slice(-4));
    expect(await row.innerText()).toMatch(/valid/i);
    expect(crm.calls.filter((c) => c.path === '/v1/me' && c.authorized)).toHaveLength(1);
    await shots(page, '02-connections');
    expect(await axeViolations(page)).toEqual([]);

    // Acme Analytics, signed in through Rampart (the session is live: no password again).
    await page.goto(productUrl);
    await page.getByRole('link', { name: 'Sign in with Rampart' }).click();
    await heading(page, 'Dashboard');
    await page.goto(`${productUrl}/integrations`);
    await heading(page, 'Integrations');
    const connection = page.getByRole('row').filter({ hasText: 'Sales CRM' });
    await connection.waitFor();
    expect(await connection.innerText()).toContain(apiKey.slice(-4));
    await landOn(page, `${productUrl}/integrations`, () =>
      page.getByRole('button', { name: 'Import contacts from Sales CRM' }).click(),
    );
    const imported = page.getByRole('table', { name: /contacts imported from Sales CRM/ });
    await imported.waitFor();
    for (const c of CRM_CONTACTS) expect(await imported.innerText()).toContain(c.name);
    expect(crm.calls.filter((c) => c.path === '/v1/contacts' && c.authorized)).toHaveLength(1);
    await shots(page, '03-product-integrations');

    // The organization's audit log shows the use: the connection, why, where, and the answer.
    await page.goto(`${base}/orgs/${orgId}/audit`);
    const use = page.getByRole('row').filter({ hasText: 'connection.used' }).filter({ hasText: IMPORT_PURPOSE });
    await use.first().waitFor();
    await shots(page, '04-audit');

    expect(seen.length).toBeGreaterThan(5);
    for (const html of seen) expect(html).not.toContain(apiKey);
    expect(app.logs()).not.toContain(apiKey);
    expect(cspViolations(problems)).toEqual([]);
    await context.close();
  });
});

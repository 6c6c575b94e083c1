import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/mfa/totp.js';
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
import { enrollTotp, heading, landOn, newVerifiedAccount, openMail, PASSWORD, signIn, uniqueEmail } from './flows.js';

/*
 * Second factors in a real browser: passkeys through Chromium's virtual authenticator (CDP
 * WebAuthn domain: a platform authenticator with resident keys and user verification), and an
 * authenticator app whose secret is read off the setup page. Its own server: A8 allows 10 sign-ups
 * per IP and hour, and this file makes its own accounts.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

describe.skipIf(!hasChromium)(
  `second factors in a real browser${hasChromium ? '' : ` (${noChromiumReason})`}`,
  { timeout: 120_000 },
  () => {
    let app: BrowserServer;
    let browser: Browser;
    let base: string;
    const contexts: BrowserContext[] = [];

    async function device(): Promise<{ page: Page; problems: PageProblems; cdp: CDPSession; authenticatorId: string }> {
      const context = await browser.newContext(DESKTOP);
      contexts.push(context);
      const problems = watchProblems(context);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      return { page, problems, cdp, authenticatorId };
    }

    /** The password part of a sign-in, for an account with a second factor: lands on the second step. */
    async function passwordStep(page: Page, email: string): Promise<void> {
      await page.goto(`${base}/signin`);
      await page.getByLabel('E-mail address').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await landOn(page, `${base}/signin/second-factor`, () =>
        page.getByRole('form', { name: 'Sign in' }).getByRole('button', { name: 'Sign in', exact: true }).click(),
      );
    }

    async function signOut(page: Page): Promise<void> {
      await landOn(page, `${base}/`, () => page.getByRole('button', { name: 'Sign out', exact: true }).first().click());
    }

    beforeAll(async () => {
      [app, browser] = await Promise.all([startBrowserServer(), launchBrowser()]);
      base = app.baseUrl;
    }, 120_000);

    afterEach(async () => {
      await Promise.all(contexts.splice(0).map((c) => c.close()));
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
    });

    it(
      '[A5] register a passkey, sign out, sign in with it and no password; as second factor after a password; ' +
        'revoke it; signing in with it then fails',
      async () => {
        const { page, problems, cdp, authenticatorId } = await device();
        const email = await newVerifiedAccount(page, base, 'passkey');
        await signIn(page, base, email);
        await page.getByText('75', { exact: true }).waitFor();

        // Register: name it, the virtual authenticator answers the browser's prompt.
        const passkeys = page.getByRole('region', { name: 'Passkeys' });
        await passkeys.getByLabel('Name this passkey').fill('Virtual Touch ID');
        await screenshot(page, 'a5-01-account-security-before-passkey');
        // The first second factor: recovery codes are made and shown once.
        await landOn(
          page,
          (url) => url.pathname === '/account/recovery-codes',
          () => passkeys.getByRole('button', { name: 'Add a passkey' }).click(),
        );
        await heading(page, 'Your recovery codes');
        expect(await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count()).toBe(10);
        await screenshot(page, 'a5-02-recovery-codes-after-first-passkey');
        await landOn(page, `${base}/account/security?done=passkey`, () =>
          page.getByRole('button', { name: 'I saved them' }).click(),
        );
        const row = passkeys.locator('tbody tr');
        expect(await row.count()).toBe(1);
        expect(await row.getByRole('textbox').inputValue()).toBe('Virtual Touch ID');
        await row.getByText('never').waitFor();
        await page.getByText('100', { exact: true }).waitFor(); // A9: a second factor and a recent password
        const stored = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
        expect(stored).toHaveLength(1);
        expect(stored[0]!.isResidentCredential).toBe(true);
        await screenshot(page, 'a5-03-account-security-with-passkey');
        await openMail(page, base, email, 'A second factor was added: passkey “Virtual Touch ID”');

        // Passwordless: sign out, then the sign-in page's passkey button alone.
        await page.goto(`${base}/account/security`);
        await signOut(page);
        await page.goto(`${base}/signin`);
        await heading(page, 'Sign in');
        await screenshot(page, 'a5-04-signin-with-passkey-option');
        await landOn(page, `${base}/account/security`, () =>
          page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
        );
        await heading(page, 'Account security');
        await page.getByRole('region', { name: 'Where you are signed in' }).getByText('with passkey').waitFor();
        // last used is set
        await page.getByRole('region', { name: 'Passkeys' }).locator('tbody tr').getByText('UTC').nth(1).waitFor();

        // Second factor: the password alone now leads to the second-factor step, where the passkey finishes.
        await signOut(page);
        await passwordStep(page, email);
        await heading(page, 'Confirm it is you');
        await screenshot(page, 'a5-05-second-factor-passkey');
        await landOn(page, `${base}/account/security`, () =>
          page.getByRole('button', { name: 'Use my passkey' }).click(),
        );

        // Rename, then revoke (the session is fresh: no step-up needed).
        const named = page.getByRole('region', { name: 'Passkeys' }).locator('tbody tr');
        await named.getByRole('textbox').fill('Old laptop');
        await landOn(page, `${base}/account/security?done=passkey_renamed#passkeys`, () =>
          named.getByRole('button', { name: 'Rename' }).click(),
        );
        expect(
          await page.getByRole('region', { name: 'Passkeys' }).locator('tbody tr').getByRole('textbox').inputValue(),
        ).toBe('Old laptop');
        page.once('dialog', (d) => void d.accept());
        await landOn(page, `${base}/account/security?done=passkey_removed#passkeys`, () =>
          page.getByRole('region', { name: 'Passkeys' }).getByRole('button', { name: 'Remove' }).click(),
        );
        await page.getByText('No passkeys yet.').waitFor();
        await openMail(page, base, email, 'A second factor was removed: passkey “Old laptop”');

        // The authenticator still holds the credential, but the server no longer accepts it.
        await page.goto(`${base}/account/security`);
        await signOut(page);
        await page.goto(`${base}/signin`);
        const passkeyForm = page.getByRole('form', { name: 'Sign in with a passkey' });
        await passkeyForm.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await passkeyForm.getByRole('alert').filter({ hasText: 'That passkey could not be verified' }).waitFor();
        expect(page.url()).toBe(`${base}/signin`);
        await screenshot(page, 'a5-06-signin-with-revoked-passkey');
        expect(cspViolations(problems)).toEqual([]);
      },
    );

    it(
      '[A4] enroll an authenticator app by reading the key off the page, sign in with a generated code; ' +
        'step-up asks for it again later',
      async () => {
        const { page, problems } = await device();
        const email = await newVerifiedAccount(page, base, 'totp');
        await signIn(page, base, email);
        await landOn(page, `${base}/account/totp/setup`, () =>
          page.getByRole('link', { name: 'Set up an authenticator app' }).first().click(),
        );
        await heading(page, 'Set up an authenticator app');
        await page.getByRole('img', { name: 'QR code of the authenticator key' }).waitFor();
        await screenshot(page, 'a4-01-totp-setup');
        const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
        expect(secret).toMatch(/^[A-Z2-7]{32}$/);

        // A wrong code first: the error sits next to the field and the same key is shown again.
        await page
          .getByLabel('Code from the app')
          .fill('000000' === totpCode(secret, new Date()) ? '111111' : '000000');
        await page.getByRole('button', { name: 'Turn on' }).click();
        await page.locator('#field-code-error').waitFor();
        expect((await page.locator('code.secret').innerText()).replace(/\s+/g, '')).toBe(secret);
        await screenshot(page, 'a4-02-totp-setup-wrong-code');

        await page.getByLabel('Code from the app').fill(totpCode(secret, new Date()));
        await page.getByRole('button', { name: 'Turn on' }).click();
        await heading(page, 'Two-factor sign-in is on');
        const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allInnerTexts();
        expect(codes).toHaveLength(10);
        await screenshot(page, 'a4-03-recovery-codes');
        await landOn(page, `${base}/account/security`, () =>
          page.getByRole('button', { name: 'I saved them' }).click(),
        );

        // Sign in again: password, then a code of the next time step (the enrollment code's step is spent).
        await signOut(page);
        await passwordStep(page, email);
        await screenshot(page, 'a4-04-second-factor-code');
        await page.getByLabel('Code from your authenticator app').fill(totpCode(secret, new Date(Date.now() + 30_000)));
        await landOn(page, `${base}/account/security`, () => page.getByRole('button', { name: 'Verify code' }).click());
        await page
          .getByRole('region', { name: 'Sign-in activity, last 30 days' })
          .getByText('(password and app code)')
          .waitFor();

        // Keyboard only: the step-up page's code field is focused and the form submits with Enter.
        await page.goto(`${base}/account/step-up?next=/account/security`);
        await heading(page, 'Confirm it is you');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('field-secret');
        await screenshot(page, 'a4-05-step-up');
        expect(cspViolations(problems)).toEqual([]);
      },
    );

    /**
     * An owner whose organization requires MFA, and a member without a second factor who was just sent to enrollment.
     */
    async function memberMetByPolicy(label: string, orgName: string) {
      const owner = await device();
      const ownerEmail = await newVerifiedAccount(owner.page, base, `${label}-owner`);
      await signIn(owner.page, base, ownerEmail);
      await enrollTotp(owner.page, base);
      await owner.page.goto(`${base}/orgs`);
      await owner.page.getByRole('form', { name: 'Create organization' }).getByLabel('Name').fill(orgName);
      await landOn(owner.page, /\/orgs\/[0-9a-f-]{36}/, () =>
        owner.page.getByRole('button', { name: 'Create organization' }).click(),
      );
      const orgPath = new URL(owner.page.url()).pathname;
      await landOn(
        owner.page,
        (url) => url.searchParams.get('done') === 'mfa_on',
        () => owner.page.getByRole('button', { name: 'Require two-factor sign-in' }).click(),
      );
      await owner.page.getByRole('status').filter({ hasText: 'Two-factor sign-in is now required' }).waitFor();

      const member = await device();
      const memberEmail = await newVerifiedAccount(member.page, base, `${label}-member`);
      await signIn(member.page, base, memberEmail);
      await owner.page.goto(`${base}${orgPath}/members`);
      const invite = owner.page.getByRole('form', { name: 'Invite someone' });
      await invite.getByLabel('E-mail address').fill(memberEmail);
      await invite.getByRole('button', { name: 'Send invitation' }).click();
      await owner.page.getByRole('status').first().waitFor();

      await openMail(member.page, base, memberEmail, `You are invited to ${orgName} on Rampart`);
      await landOn(
        member.page,
        (url) => url.pathname === '/invitations/accept',
        () => member.page.getByRole('link', { name: /\/invitations\/accept\?org=/ }).click(),
      );
      await landOn(
        member.page,
        (url) => url.pathname === '/account/two-factor/required',
        () => member.page.getByRole('button', { name: 'Accept invitation' }).click(),
      );
      await heading(member.page, 'Two-factor sign-in required');
      await member.page.getByText(`“${orgName}” requires two-factor authentication`).waitFor();
      return { owner, member, orgPath };
    }

    it(
      '[A6] a member without MFA is sent to enrollment before reaching an organization that requires it; ' +
        'after enrolling, gets in',
      async () => {
        const { owner, member, orgPath } = await memberMetByPolicy('a6', 'Strict Co');
        await screenshot(owner.page, 'a6-01-org-requires-mfa');
        await screenshot(member.page, 'a6-02-member-sent-to-enrollment');
        // Any page of the organization leads here until the member has a second factor
        await member.page.goto(`${base}${orgPath}`);
        await heading(member.page, 'Two-factor sign-in required');

        // Set up from this page; once the codes are saved, the member is back where they were going
        await landOn(
          member.page,
          (url) => url.pathname === '/account/totp/setup',
          () => member.page.getByRole('button', { name: 'Set up an authenticator app' }).click(),
        );
        const secret = (await member.page.locator('code.secret').innerText()).replace(/\s+/g, '');
        await member.page.getByLabel('Code from the app').fill(totpCode(secret, new Date()));
        await member.page.getByRole('button', { name: 'Turn on' }).click();
        await heading(member.page, 'Two-factor sign-in is on');
        await landOn(member.page, `${base}${orgPath}`, () =>
          member.page.getByRole('button', { name: 'I saved them' }).click(),
        );
        await heading(member.page, 'Strict Co');
        await member.page.getByText('Required of every member').waitFor();
        await screenshot(member.page, 'a6-03-member-in-after-enrolling');
        expect(cspViolations(owner.problems)).toEqual([]);
        expect(cspViolations(member.problems)).toEqual([]);
      },
    );

    it('[A6] [A5] a member sent to enrollment can add a passkey there instead, and is then let in', async () => {
      const { member, orgPath } = await memberMetByPolicy('a6-passkey', 'Passkey Co');
      await member.page.goto(`${base}${orgPath}`);
      await heading(member.page, 'Two-factor sign-in required');
      await screenshot(member.page, 'a6-04-member-may-add-a-passkey-here');
      await member.page.getByLabel('Name this passkey').fill('Work laptop');
      await landOn(
        member.page,
        (url) => url.pathname === '/account/recovery-codes',
        () => member.page.getByRole('button', { name: 'Add a passkey' }).click(),
      );
      await heading(member.page, 'Your recovery codes');
      await landOn(member.page, `${base}${orgPath}`, () =>
        member.page.getByRole('button', { name: 'I saved them' }).click(),
      );
      await heading(member.page, 'Passkey Co');
      expect(cspViolations(member.problems)).toEqual([]);
    });

    it(
      '[S2] change the sign-in address on the security page; the link in the new mailbox moves the account ' + 'there',
      async () => {
        const { page, problems } = await device();
        const email = await newVerifiedAccount(page, base, 'move');
        await signIn(page, base, email);
        const newEmail = uniqueEmail('moved');
        const form = page.getByRole('form', { name: 'Change sign-in address' });
        await form.getByLabel('New address').fill(newEmail);
        await landOn(page, `${base}/account/security?done=email_sent`, () =>
          form.getByRole('button', { name: 'Send the link' }).click(),
        );
        await page.getByRole('status').filter({ hasText: 'We e-mailed a link to the new address' }).waitFor();
        await screenshot(page, 's2-01-email-change-sent');

        await openMail(page, base, newEmail, 'Confirm your new e-mail address');
        await landOn(
          page,
          (url) => url.pathname === '/account/email/confirm',
          () => page.getByRole('link', { name: /\/account\/email\/confirm\?token=/ }).click(),
        );
        await heading(page, 'Change your sign-in address');
        await screenshot(page, 's2-02-email-change-confirm');
        await landOn(page, `${base}/account/security?done=email_changed`, () =>
          page.getByRole('button', { name: 'Use this address' }).click(),
        );
        await page.getByRole('status').filter({ hasText: 'Your sign-in address is changed' }).waitFor();
        await page.getByText(`Signed in as ${newEmail}`).waitFor();
        await screenshot(page, 's2-03-email-changed');
        await signOut(page);
        await signIn(page, base, newEmail);
        expect(cspViolations(problems)).toEqual([]);
      },
    );
  },
);

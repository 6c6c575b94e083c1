import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContextOptions } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  hasChromium,
  launchBrowser,
  noChromiumReason,
  PHONE,
  screenshot,
  watchProblems,
} from '../helpers/browser.js';
import {
  childEnv,
  freePort,
  killChildren,
  makeTempDir,
  removeTempDirs,
  repoRoot,
  spawnCli,
  type CliProcess,
} from '../helpers/process.js';
import { confirmEmail, heading, signIn, signUp, uniqueEmail } from './flows.js';

/*
 * A new user's first minutes (issue 11): `rampart start` with nothing configured, the address the
 * README gives, in a real browser. Nothing here sets RAMPART_BASE_URL: the defaults are under test.
 */

if (!hasChromium) console.warn(`[e2e] browser tests ${noChromiumReason}`);

/** The address "Start it" in README.md tells a new user to open. */
function readmeAddress(): URL {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.slice(readme.indexOf('## Start it'), readme.indexOf('## Test it'));
  const found = /<(https?:\/\/[^>]+)>/.exec(start);
  if (!found) throw new Error('README.md "Start it" gives no address');
  return new URL(found[1]!);
}

describe.skipIf(!hasChromium)(
  `first start, as the README says${hasChromium ? '' : ` (${noChromiumReason})`}`,
  { timeout: 180_000 },
  () => {
    let browser: Browser;
    let server: CliProcess;
    let port: number;
    let printed: string;

    beforeAll(async () => {
      port = await freePort();
      // Only what a person changes to try it beside something else: the port and the data directory.
      server = spawnCli(
        ['start'],
        childEnv({ PORT: String(port), RAMPART_DATA_DIR: makeTempDir('rampart-first-start-') }),
      );
      [browser] = await Promise.all([launchBrowser(), server.waitFor(/rampart is listening: open \S+/, 90_000)]);
      printed = /rampart is listening: open (\S+?)"/.exec(server.stdout())![1]!;
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      server?.kill('SIGTERM');
      await server?.exited(30_000).catch(() => undefined);
      killChildren();
      removeTempDirs();
    });

    async function device(options: BrowserContextOptions) {
      const context = await browser.newContext(options);
      const problems = watchProblems(context);
      return { context, problems, page: await context.newPage() };
    }

    it(
      "[R1] the start-up log prints the README's address (on the chosen port), and a new user signs up, " +
        'confirms and signs in there, at 1280 and 390 px',
      async () => {
        const readme = readmeAddress();
        expect(readme.port).toBe('3000');
        readme.port = String(port);
        expect(printed).toBe(readme.origin);

        for (const [options, width] of [
          [DESKTOP, 1280],
          [PHONE, 390],
        ] as const) {
          const { context, page, problems } = await device(options);
          try {
            const email = uniqueEmail(`first-start-${width}`);
            await page.goto(printed);
            await screenshot(page, `first-start-${width}-01-home`);
            await signUp(page, printed, email, undefined, { prefix: `first-start-${width}-02` });
            // The mailed link leads to the same address (followMailLink checks it starts with it).
            await confirmEmail(page, printed, email);
            await signIn(page, printed, email);
            await heading(page, /security/i);
            await screenshot(page, `first-start-${width}-03-signed-in`);
            expect(problems.errors).toEqual([]);
          } finally {
            await context.close();
          }
        }
      },
    );

    it(
      '[R1] opened at http://127.0.0.1:<port> (what the README used to say), the sign-up page moves to the ' +
        'printed address, and signing up works',
      async () => {
        const { context, page, problems } = await device(DESKTOP);
        try {
          await page.goto(`http://127.0.0.1:${port}/signup`);
          expect(page.url()).toBe(`${printed}/signup`);
          const email = uniqueEmail('first-start-ip');
          await signUp(page, printed, email);
          expect(problems.errors).toEqual([]);
        } finally {
          await context.close();
        }
      },
    );
  },
);

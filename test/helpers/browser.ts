import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { testEnv } from './app.js';

/** Debian's Chromium (`apt-get install chromium`); the browser suites skip when it is missing. */
export const CHROMIUM_PATH = process.env.RAMPART_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const noChromiumReason = `skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium fonts-liberation)`;

export const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../e2e/screenshots');

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

/** `extraArgs`: more Chromium switches (the A7 suite trusts its upstream's test certificate by its key). */
export function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // The machine has no network: without the background-networking flags Chromium keeps dialling out.
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Containers often have a tiny /dev/shm; Debian's wrapper means to add this but its size check is broken.
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
}

/** A full-page PNG in test/e2e/screenshots/ (ignored by git), for people to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // Transitions (Pico's focus rings) are finished first, so the picture shows the settled state.
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/** What a page reported: console errors and warnings, uncaught exceptions. */
export interface PageProblems {
  console: string[];
  errors: string[];
}

/** Records console errors/warnings and uncaught errors of every page a context opens. */
export function watchProblems(context: BrowserContext): PageProblems {
  const problems: PageProblems = { console: [], errors: [] };
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning')
        problems.console.push(`${msg.type()} on ${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.errors.push(`${page.url()}: ${err.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return problems;
}

export function cspViolations(problems: PageProblems): string[] {
  return problems.console.filter((line) => /Content Security Policy/i.test(line));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface BrowserServer {
  server: RunningServer;
  /** `http://localhost:<port>`: the public address, and the only origin the CSRF check accepts. */
  baseUrl: string;
  port: number;
  logs(): string;
  close(): Promise<void>;
}

/**
 * A real Rampart (dev mode, embedded database in a temporary directory) listening on a free port.
 * The browser must use `localhost`: it is a secure context, so Chromium keeps the `Secure`,
 * `__Host-` cookies over plain HTTP; and it must match RAMPART_BASE_URL exactly for the Origin check.
 */
export async function startBrowserServer(env: Record<string, string | undefined> = {}): Promise<BrowserServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rampart-e2e-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // The port is probed, then bound by the server: a tiny race that a busy CI machine could only lose
  // to another process binding the same random port in that instant.
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const config = loadConfig(
    testEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      RAMPART_DATA_DIR: dataDir,
      RAMPART_BASE_URL: baseUrl,
      LOG_LEVEL: 'warn',
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      ...env,
    }),
  );
  let server: RunningServer;
  try {
    server = await startServer(config, sink);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    baseUrl,
    port,
    logs: () => lines.join(''),
    async close() {
      await server.shutdown();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's WCAG 2.1 A and AA checks of the page as it is. Evaluated through the DevTools
 * protocol, which the pages' CSP does not govern; the pages themselves are unchanged.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const result = await page.evaluate(
    `${AXE_SOURCE};
     axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
       .then((r) => r.violations.map((v) =>
         ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`,
  );
  return result as AxeViolation[];
}

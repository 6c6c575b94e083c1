import { expect } from 'vitest';
import { disclosureFeature } from '../../src/disclosure/index.js';
import { createFeatureContext, type Platform, type TrustProbe } from '../../src/feature.js';
import { createOperatorConsole } from '../../src/operator/index.js';
import type { TestApp } from './app.js';
import type { TestClient } from './client.js';

/* X3: the report form as a browser sends it, and the feature's trust checks over a test app. */

export const operatorConsole = (app: TestApp) => createOperatorConsole({ db: app.db, clock: app.clock });

export async function setContact(app: TestApp, contact: string | null) {
  await operatorConsole(app).saveSettings(
    {
      productName: 'Acme Cloud',
      securityContact: contact,
      policyUrl: null,
      policyText: null,
      preferredLanguages: 'en, de',
    },
    { name: 'test' },
  );
}

/** Opens the report form as a browser does: its CSRF field and its signed form token. */
export async function openForm(client: TestClient) {
  const page = await client.page('/security/report');
  expect(page.statusCode).toBe(200);
  return {
    csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!,
    formToken: /name="formToken" value="([^"]+)"/.exec(page.body)![1]!,
  };
}

export const goodReport = (email: string, extra: Record<string, string> = {}) => ({
  summary: 'Stored XSS in the invitation page',
  details: 'The organization name is rendered unescaped on /orgs/invite. Steps: create an org named <img onerror>.',
  affected: '/orgs/invite',
  email,
  name: 'Ada Reporter',
  website: '',
  ...extra,
});

export async function send(client: TestClient, app: TestApp, fields: Record<string, string>, wait = 5_000) {
  const form = await openForm(client);
  app.clock.advance(wait);
  return client.request({
    method: 'POST',
    url: '/security/report',
    form: { formToken: form.formToken, _csrf: form.csrf, ...fields },
    headers: { accept: 'text/html' },
  });
}

export const countReports = (app: TestApp, summary: string) =>
  app.db.withSystem(async (tx) =>
    Number(
      (
        await tx
          .selectFrom('disclosure_reports')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('summary', '=', summary)
          .executeTakeFirstOrThrow()
      ).n,
    ),
  );

/** The feature's trust checks, on its own service built over this app's database and clock. */
export function checksOf(app: TestApp) {
  const ctx = createFeatureContext({ config: app.config, ...realPlatform(app) } as Platform, []);
  ctx.provide('operator', { console: operatorConsole(app) } as never);
  disclosureFeature.setup!(ctx);
  return disclosureFeature.trustChecks!(ctx);
}

export function realPlatform(app: TestApp): Partial<Platform> {
  return {
    db: app.db,
    clock: app.clock,
    limits: app.limits,
    mailer: app.mailbox,
    background: { run: () => undefined, drain: async () => undefined },
    logger: { warn: () => undefined } as never,
    subkey: () => Buffer.alloc(32, 1),
    schedule: {
      kind: 'in-process',
      every: () => undefined,
      run: async () => undefined,
      start: async () => undefined,
      status: async () => [],
      names: () => [],
      close: async () => undefined,
    },
    overrides: {},
  };
}

export const probeOf =
  (app: TestApp, rewrite?: (body: string) => string): TrustProbe['request'] =>
  async (path) => {
    const res = await app.app.inject({ method: 'GET', url: path });
    const body = rewrite ? rewrite(res.body) : res.body;
    return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, body };
  };

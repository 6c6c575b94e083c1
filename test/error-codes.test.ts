import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURES } from '../src/features.js';
import { errorSections } from '../src/registry-docs.js';
import { MFA_ERRORS, mfaError } from '../src/mfa/errors.js';
import { AppError, defineErrors, type ErrorCatalog, notFound, rateLimited } from '../src/platform/errors.js';
import { errorsDoc, statusConflicts } from '../src/platform/errors-doc.js';
import { projectRoot } from '../src/platform/paths.js';
import { ORG_ERRORS } from '../src/orgs/errors.js';
import { createTestApp, type TestApp } from './helpers/app.js';

const src = path.join(projectRoot, 'src');
const isCatalog = (value: unknown): value is ErrorCatalog =>
  typeof value === 'object' && value !== null && 'codes' in value && 'fail' in value;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

const ERROR_CATALOGS = errorSections(FEATURES);

describe('error catalogs', () => {
  it('[R6] every error code has one HTTP status across the product', () => {
    expect(statusConflicts(ERROR_CATALOGS)).toEqual({});
  });

  it('[R6] the one-status check finds a code declared with two statuses', () => {
    const a = defineErrors({ passkey_failed: { status: 401, message: 'a', description: 'a' } });
    const b = defineErrors({ passkey_failed: { status: 400, message: 'b', description: 'b' } });
    expect(
      statusConflicts([
        { title: 'A', source: 'a.ts', catalog: a },
        { title: 'B', source: 'b.ts', catalog: b },
      ]),
    ).toEqual({ passkey_failed: ['401 in a.ts', '400 in b.ts'] });
  });

  it("[R6] every feature's errors.ts is in its feature module (and each module's errors.ts exists)", async () => {
    const listed = new Set(ERROR_CATALOGS.map((s) => s.catalog));
    const files = [
      path.join(src, 'platform', 'errors.ts'),
      ...readdirSync(src, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(src, e.name, 'errors.ts'))
        .filter((f) => existsSync(f)),
    ];
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) {
      const catalogs = Object.values(await import(pathToFileURL(file).href)).filter(isCatalog);
      expect(catalogs.length, file).toBeGreaterThan(0);
      for (const catalog of catalogs) expect(listed.has(catalog), path.relative(projectRoot, file)).toBe(true);
    }
    for (const section of ERROR_CATALOGS) expect(existsSync(path.join(projectRoot, section.source))).toBe(true);
  });

  it('[R6] docs/errors.md is generated from the catalogs and current (npm run docs)', () => {
    expect(readFileSync(path.join(projectRoot, 'docs', 'errors.md'), 'utf8')).toBe(errorsDoc(ERROR_CATALOGS));
  });

  it('[R6] no throw site picks a status: only a catalog builds an AppError', () => {
    const byHand = sourceFiles(src)
      .filter((f) => f !== path.join(src, 'platform', 'errors.ts'))
      .filter((f) => /new AppError\b/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(projectRoot, f));
    expect(byHand).toEqual([]);
  });

  it("[R6] fail() gives the catalog's status; a throw site may change message, fields and redirect only", () => {
    const plain = mfaError('passkey_failed');
    expect(plain).toBeInstanceOf(AppError);
    expect(plain).toMatchObject({
      code: 'passkey_failed',
      status: 401,
      message: MFA_ERRORS.codes.passkey_failed.message,
    });
    const custom = mfaError('passkey_failed', {
      message: 'The passkey could not be registered. Try again.',
      fields: [{ field: 'response', message: 'does not verify' }],
    });
    expect(custom).toMatchObject({ status: 401, message: 'The passkey could not be registered. Try again.' });
    expect(custom.fields).toEqual([{ field: 'response', message: 'does not verify' }]);
    expect(mfaError('step_up_required').redirectTo).toBe('/account/step-up');
    expect(ORG_ERRORS.fail('mfa_required').redirectTo).toBe('/account/two-factor/required');
    expect(mfaError('step_up_required', { redirectTo: '/elsewhere' }).redirectTo).toBe('/elsewhere');
    // @ts-expect-error a typo is not a code of the catalog (and throws if it gets past the compiler)
    expect(() => mfaError('paskey_failed')).toThrow(/unknown error code/);
  });

  it('[R6] a catalog refuses codes that are not snake_case and statuses that are not errors', () => {
    expect(() => defineErrors({ 'Bad-Code': { status: 400, message: 'm', description: 'd' } })).toThrow(/snake_case/);
    expect(() => defineErrors({ fine: { status: 302, message: 'm', description: 'd' } })).toThrow(/status 302/);
  });

  it('[R6] notFound() and rateLimited() keep their codes, statuses and messages', () => {
    expect(notFound('That passkey')).toMatchObject({
      code: 'not_found',
      status: 404,
      message: 'That passkey was not found.',
    });
    expect(notFound().message).toBe('The page or resource was not found.');
    expect(rateLimited(2.2)).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSec: 3 });
    expect(rateLimited(0).retryAfterSec).toBe(1);
  });
});

describe('the error handler maps catalog errors', () => {
  let t: TestApp;
  const html = { accept: 'text/html,application/xhtml+xml' };
  beforeAll(async () => {
    t = await createTestApp({}, (app) => {
      for (const prefix of ['/api/v1/probe', '/probe']) {
        app.get(`${prefix}/step-up`, { schema: {} }, async () => {
          throw mfaError('step_up_required');
        });
        app.get(`${prefix}/limited`, { schema: {} }, async () => {
          throw rateLimited(2.2);
        });
        app.get(`${prefix}/fields`, { schema: {} }, async () => {
          throw mfaError('invalid_code', { fields: [{ field: 'code', message: 'is not the current code' }] });
        });
      }
    });
  });
  afterAll(() => t.close());

  it('[R6] an API gets JSON with the code, message, request id and fields; a page gets the message', async () => {
    const api = await t.app.inject({ url: '/api/v1/probe/fields' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toEqual({
      error: {
        code: 'invalid_code',
        message: MFA_ERRORS.codes.invalid_code.message,
        requestId: api.headers['x-request-id'],
        fields: [{ field: 'code', message: 'is not the current code' }],
      },
    });
    const page = await t.app.inject({ url: '/probe/fields', headers: html });
    expect(page.statusCode).toBe(401);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('code: is not the current code');
    expect(page.body).toContain(String(page.headers['x-request-id']));
  });

  it('[R6] a 429 carries Retry-After, for APIs and pages', async () => {
    for (const [url, headers] of [
      ['/api/v1/probe/limited', {}],
      ['/probe/limited', html],
    ] as const) {
      const res = await t.app.inject({ url, headers });
      expect(res.statusCode, url).toBe(429);
      expect(res.headers['retry-after'], url).toBe('3');
    }
    expect((await t.app.inject({ url: '/api/v1/probe/limited' })).json().error.code).toBe('rate_limited');
  });

  it('[R6] a page is redirected to where the catalog says it resolves (and back); an API gets the code', async () => {
    const page = await t.app.inject({ url: '/probe/step-up', headers: html });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe(`/account/step-up?next=${encodeURIComponent('/probe/step-up')}`);
    const api = await t.app.inject({ url: '/api/v1/probe/step-up' });
    expect(api.statusCode).toBe(403);
    expect(api.json().error.code).toBe('step_up_required');
  });

  it(
    '[R6] static-file refusals answer one code per status (412, 416, 403), not a 400 code with another ' + 'status',
    async () => {
      for (const [headers, url, status, code] of [
        [{ range: 'bytes=999999-' }, '/static/rampart.css', 416, 'range_not_satisfiable'],
        [{ 'if-match': '"nope"' }, '/static/rampart.css', 412, 'precondition_failed'],
        [{}, '/static/', 403, 'forbidden'],
        [{}, '/static/a%00b.css', 400, 'bad_request'],
      ] as const) {
        const res = await t.app.inject({ url, headers });
        expect(res.statusCode, url).toBe(status);
        expect(res.json().error.code, url).toBe(code);
      }
    },
  );
});

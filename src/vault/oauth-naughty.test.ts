import { describe, expect, it } from 'vitest';
import { fileTestApp } from '../../test/helpers/app.js';
import { NAUGHTY_ENV, naughtyStrings, naughtySweeper, summary } from '../../test/helpers/naughty.js';

/*
 * R5, R6 for the OAuth connection routes alone (start page and API, callback, disconnect): every
 * naughty string into every parameter and field, as a signed-in browser with a valid CSRF field.
 * The org-pages and API suites sweep them too; this one runs in seconds while working on them.
 */

const t = await fileTestApp(NAUGHTY_ENV);

describe('naughty input to the OAuth connection routes', () => {
  it('[R5][A7] every field of the OAuth connection routes: the Big List of Naughty Strings answers below 500', {
    timeout: 300_000,
  }, async () => {
    const routes = t.app.routeTable.filter((route) => /\/oauth(\/|$)/.test(route.url));
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'GET /vault/oauth/callback',
      'HEAD /vault/oauth/callback',
      'POST /api/v1/orgs/:orgId/connections/oauth/start',
      'POST /orgs/:orgId/connections/:connectionId/oauth/disconnect',
      'POST /orgs/:orgId/connections/oauth/start',
    ]);
    const { sweep, stats } = naughtySweeper(t);
    const { failures, notReached, fields } = await sweep(routes, naughtyStrings);
    expect(fields).toBeGreaterThanOrEqual(10);
    expect(stats.requests).toBeGreaterThan(5000);
    expect(summary(failures)).toEqual([]);
    expect(notReached).toEqual([]);
  });
});

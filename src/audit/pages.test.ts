import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { OUT_OF_RANGE_CURSORS } from '../../test/helpers/input.js';

let t: TestApp;
let owner: TestClient;
let orgId: string;
const html = { accept: 'text/html' };

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  owner = await helpers.signedIn(await helpers.verified());
  orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Paged <Org>' })).json().id;
  for (let i = 0; i < 55; i++)
    await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'viewer' });
});
afterAll(() => t.close());

describe('audit log and access review pages (L2, O4)', () => {
  it('[L2] the audit page lists events, filters with a plain GET form, and pages to older events', async () => {
    const page = await owner.request({ url: `/orgs/${orgId}/audit`, headers: html });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Paged &lt;Org>');
    expect(page.body.match(/<tr>/g)?.length).toBe(51); // header + 50 events
    const older = /href="(\/orgs\/[^"]+\/audit\?before=\d+)"/.exec(page.body)![1]!;
    const second = await owner.request({ url: older.replaceAll('&amp;', '&'), headers: html });
    expect(second.body).toContain('org.created');
    const filtered = await owner.request({ url: `/orgs/${orgId}/audit?action=org.created`, headers: html });
    expect(filtered.body.match(/<tr>/g)?.length).toBe(2);
    expect(filtered.body).toContain(`/api/v1/orgs/${orgId}/audit/export?action=org.created&amp;format=csv`);
  });

  it('[L2] a bad date is shown as an error, not a crash', async () => {
    const res = await owner.request({ url: `/orgs/${orgId}/audit?from=yesterday`, headers: html });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('role="alert"');
  });

  it('[R5] the audit page with before=Infinity (or another cursor out of range) is a 400, not a 500', async () => {
    for (const before of OUT_OF_RANGE_CURSORS) {
      const res = await owner.request({
        url: `/orgs/${orgId}/audit?before=${encodeURIComponent(before)}`,
        headers: html,
      });
      expect(res.statusCode, before).toBe(400);
      expect(res.body).toContain('before: must be');
    }
  });

  it('[L2] verify chain from the page shows the result', async () => {
    const res = await owner.submit(`/orgs/${orgId}/audit/verify`, {});
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/The chain is intact: \d+ events verified/);
  });

  it('[O4] the review page shows members and due date; signing off records it', async () => {
    const page = await owner.request({ url: `/orgs/${orgId}/review`, headers: html });
    expect(page.body).toContain('This organization has never been reviewed.');
    expect(page.body).toContain('A review is due now.');
    const res = await owner.submit(`/orgs/${orgId}/review/sign-off`, { note: 'checked' });
    expect(res.statusCode).toBe(303);
    const after = await owner.request({ url: res.headers.location as string, headers: html });
    expect(after.body).toContain('Review signed off');
    expect(after.body).toContain('The next quarterly review is due on');
  });
});

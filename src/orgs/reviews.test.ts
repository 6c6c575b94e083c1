import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { REVIEW_INTERVAL_DAYS } from './reviews.js';

let t: TestApp;
let owner: TestClient;
let ownerEmail: string;
let memberEmail: string;
let orgId: string;

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  ownerEmail = await helpers.verified();
  owner = await helpers.signedIn(ownerEmail);
  orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Reviewed' })).json().id;
  memberEmail = await helpers.verified();
  const member = await helpers.signedIn(memberEmail);
  await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: memberEmail, role: 'viewer' });
  const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(
    (await t.mailTo(memberEmail, /invited/)).text,
  )!;
  await member.api('POST', '/api/v1/invitations/accept', { org, token });
});
afterAll(() => t.close());

describe('access reviews (O4)', () => {
  it(
    '[O4] the report lists members with role, joined, inviter, last activity and MFA status; due now when ' +
      'never signed off',
    async () => {
      const r = (await owner.api('GET', `/api/v1/orgs/${orgId}/access-review`)).json();
      const byEmail = Object.fromEntries(r.members.map((m: { email: string }) => [m.email, m]));
      expect(byEmail[ownerEmail]).toMatchObject({
        role: 'owner',
        invitedBy: null,
        mfa: false,
        lastActiveAt: expect.any(String),
      });
      expect(byEmail[memberEmail]).toMatchObject({ role: 'viewer', invitedBy: ownerEmail });
      expect(r.lastSignOff).toBeNull();
      expect(new Date(r.nextDue).getTime()).toBeLessThanOrEqual(t.clock.now().getTime());
    },
  );

  it('[O4] the report exports as CSV', async () => {
    const res = await owner.api('GET', `/api/v1/orgs/${orgId}/access-review.csv`);
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('email,role,joined,invited_by,last_active,mfa');
    expect(lines).toHaveLength(3);
  });

  it('[O4] a sign-off is recorded with reviewer and time, and the next review is due a quarter later', async () => {
    const res = await owner.api('POST', `/api/v1/orgs/${orgId}/access-review/sign-off`, {
      note: 'Q4 review: all expected',
    });
    expect(res.statusCode).toBe(201);
    const r = (await owner.api('GET', `/api/v1/orgs/${orgId}/access-review`)).json();
    expect(r.lastSignOff).toMatchObject({ reviewer: ownerEmail, membersReviewed: 2, note: 'Q4 review: all expected' });
    expect(new Date(r.nextDue).getTime() - new Date(r.lastSignOff.at).getTime()).toBe(
      REVIEW_INTERVAL_DAYS * 24 * 60 * 60 * 1000,
    );
    const events = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit?action=access_review.signed_off`)).json()
      .events;
    expect(events[0]).toMatchObject({ payload: { membersReviewed: 2 } });
  });

  it('[O4] a viewer can neither see nor sign off the review', async () => {
    const viewer = await accounts(t).signedIn(memberEmail);
    expect((await viewer.api('GET', `/api/v1/orgs/${orgId}/access-review`)).statusCode).toBe(403);
    expect((await viewer.api('POST', `/api/v1/orgs/${orgId}/access-review/sign-off`, {})).statusCode).toBe(403);
  });
});

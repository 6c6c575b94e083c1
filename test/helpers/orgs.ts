import { expect } from 'vitest';
import { accounts } from './accounts.js';
import type { TestApp } from './app.js';
import type { TestClient } from './client.js';

/** People and memberships made through the organization API of one test app. */
export function orgPeople(t: TestApp) {
  const helpers = accounts(t);

  /** A verified, signed-in person (id filled in by join). */
  async function person() {
    const email = await helpers.verified();
    return { email, client: await helpers.signedIn(email), id: '' };
  }

  function inviteLink(text: string) {
    const m = /\/invitations\/accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(text);
    if (!m) throw new Error(`no invitation link in ${text}`);
    return { org: m[1]!, token: m[2]! };
  }

  /** A new person invited by `owner` with this role, who accepts from the mailed link. */
  async function join(owner: TestClient, orgId: string, role: string) {
    const member = await person();
    expect(
      (await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: member.email, role })).statusCode,
    ).toBe(201);
    const link = inviteLink((await t.mailTo(member.email, /invited/)).text);
    expect((await member.client.api('POST', '/api/v1/invitations/accept', link)).statusCode).toBe(200);
    member.id = (await member.client.api('GET', '/api/v1/me')).json().user.id;
    return member;
  }

  return { person, inviteLink, join };
}

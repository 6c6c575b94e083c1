import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';

/*
 * The organization pages, driven like a browser without JavaScript: GET a page, POST its forms
 * (with the CSRF field), follow the 303s. The JSON API is used only to look behind the pages.
 */

const t = await fileTestApp();
const helpers = accounts(t);

const page = (client: TestClient, url: string) => client.page(url);

async function person() {
  const email = await helpers.verified();
  const client = await helpers.signedIn(email);
  const id = (await client.api('GET', '/api/v1/me')).json().user.id as string;
  return { email, client, id };
}

/** Creates an organization through the form; returns its id. */
async function orgOf(client: TestClient, name = 'Acme'): Promise<string> {
  const res = await client.submit('/orgs', { name });
  expect(res.statusCode).toBe(303);
  const m = /^\/orgs\/([0-9a-f-]{36})\?done=created$/.exec(res.headers.location as string);
  expect(m).not.toBeNull();
  return m![1]!;
}

/** The accept link of the newest invitation mail to an address, as a local path. */
async function invitationPath(email: string): Promise<string> {
  const text = (await t.mailTo(email, /invited/)).text;
  const m = /https?:\/\/[^\s/]+(\/invitations\/accept\?org=[0-9a-f-]{36}&token=[A-Za-z0-9_-]{43})/.exec(text);
  if (!m) throw new Error(`no invitation link in ${text}`);
  return m[1]!;
}

/** Invites through the members page form and accepts through the mail's link and the accept page. */
async function join(owner: TestClient, orgId: string, role: string) {
  const member = await person();
  const res = await owner.submit(`/orgs/${orgId}/invitations`, { email: member.email, role });
  expect(res.statusCode).toBe(303);
  const path = await invitationPath(member.email);
  const params = new URL(path, 'http://x').searchParams;
  expect((await page(member.client, path)).statusCode).toBe(200);
  const accepted = await member.client.submit('/invitations/accept', {
    org: params.get('org')!,
    token: params.get('token')!,
  });
  expect(accepted.headers.location).toBe(`/orgs/${orgId}`);
  return member;
}

const orgName = async (orgId: string) =>
  (await t.db.withTenant(orgId, (tx) => tx.selectFrom('organizations').select('name').executeTakeFirst()))?.name;
const fieldTag = (body: string, id: string) => new RegExp(`<(input|select)[^>]*id="${id}"[^>]*>`).exec(body)?.[0] ?? '';

describe('organization pages (O1)', () => {
  it('[O1] create an organization through the form, land on its settings page, list it and switch to it', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client, 'Acme <Labs>');
    const settings = await page(owner.client, `/orgs/${orgId}?done=created`);
    expect(settings.statusCode).toBe(200);
    expect(settings.body).toContain('<h1>Acme &lt;Labs></h1>');
    expect(settings.body).toContain('you are its owner');
    for (const path of ['/members', '/invitations', '/api-keys', '/audit', '/review'])
      expect(settings.body).toContain(`href="/orgs/${orgId}${path}"`);

    const list = await page(owner.client, '/orgs');
    expect(list.body).toContain(`href="/orgs/${orgId}"`);
    expect(list.body).toContain('aria-label="Switch to Acme &lt;Labs>"');
    const switched = await owner.client.submit(`/orgs/${orgId}/switch`, {});
    expect(switched.statusCode).toBe(303);
    expect(switched.headers.location).toBe(`/orgs/${orgId}`);
    expect((await owner.client.api('GET', '/api/v1/orgs')).json().orgs[0]).toMatchObject({ id: orgId, active: true });
    expect((await page(owner.client, '/orgs')).body).toContain('class="active-marker"');
  });

  it('[O1] rename through the form; empty names are shown next to the field', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const res = await owner.client.submit(`/orgs/${orgId}/rename`, { name: 'Acme Inc' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/orgs/${orgId}?done=renamed`);
    expect(await orgName(orgId)).toBe('Acme Inc');

    for (const name of ['', '   ']) {
      const bad = await owner.client.submit(`/orgs/${orgId}/rename`, { name });
      expect(bad.statusCode).toBe(400);
      expect(fieldTag(bad.body, 'field-name')).toContain('aria-invalid="true"');
      expect(bad.body).toMatch(/id="field-name-error"[^>]*>is required</);
    }
    const create = await owner.client.submit('/orgs', { name: '' });
    expect(create.statusCode).toBe(400);
    expect(fieldTag(create.body, 'field-name')).toContain('aria-invalid="true"');
    expect(await orgName(orgId)).toBe('Acme Inc');
  });

  it('[O1] deleting needs the name typed again; a mismatch is shown next to the field', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client, 'Doomed');
    const wrong = await owner.client.submit(`/orgs/${orgId}/delete`, { confirmName: 'doomed' });
    expect(wrong.statusCode).toBe(400);
    expect(fieldTag(wrong.body, 'field-confirmName')).toContain('aria-invalid="true"');
    expect(wrong.body).toContain('does not match the organization');
    const res = await owner.client.submit(`/orgs/${orgId}/delete`, { confirmName: 'Doomed' });
    expect(res.headers.location).toBe('/orgs?done=deleted');
    expect((await page(owner.client, `/orgs/${orgId}`)).statusCode).toBe(404);
  });

  it('[O1] ownership is handed over through the form; the old owner becomes an admin', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const next = await join(owner.client, orgId, 'member');
    const settings = await page(owner.client, `/orgs/${orgId}`);
    expect(settings.body).toContain(`<option value="${next.id}">`);
    const res = await owner.client.submit(`/orgs/${orgId}/transfer`, { userId: next.id });
    expect(res.headers.location).toBe(`/orgs/${orgId}?done=transferred`);
    const after = await page(owner.client, `/orgs/${orgId}`);
    expect(after.body).toContain('your role: Admin');
    expect(after.body).not.toContain(`/orgs/${orgId}/delete`);
  });

  it(
    '[O1] a viewer sees no rename or invite controls, and a forged POST is refused with a 403 page and ' +
      'changes nothing',
    async () => {
      const owner = await person();
      const orgId = await orgOf(owner.client, 'Guarded');
      const viewer = await join(owner.client, orgId, 'viewer');
      const settings = await page(viewer.client, `/orgs/${orgId}`);
      expect(settings.statusCode).toBe(200);
      expect(settings.body).toContain('your role: Viewer');
      expect(settings.body).not.toContain(`action="/orgs/${orgId}/rename"`);
      expect(settings.body).not.toContain(`action="/orgs/${orgId}/delete"`);
      expect(settings.body).not.toContain(`href="/orgs/${orgId}/members"`);
      expect(settings.body).toContain(`action="/orgs/${orgId}/leave"`);

      const members = await page(viewer.client, `/orgs/${orgId}/members`);
      expect(members.statusCode).toBe(403);
      expect(members.body).not.toContain('Invite someone');

      const rename = await viewer.client.submit(`/orgs/${orgId}/rename`, { name: 'Hijacked' });
      expect(rename.statusCode).toBe(403);
      expect(rename.headers['content-type']).toContain('text/html');
      expect(rename.body).toContain('Your role in this organization does not allow that.');
      expect(await orgName(orgId)).toBe('Guarded');

      const invite = await viewer.client.submit(`/orgs/${orgId}/invitations`, {
        email: 'friend@example.com',
        role: 'viewer',
      });
      expect(invite.statusCode).toBe(403);
      expect((await owner.client.api('GET', `/api/v1/orgs/${orgId}/invitations`)).json().invitations).toEqual([]);
      const key = await viewer.client.submit(`/orgs/${orgId}/api-keys`, {
        name: 'sneaky',
        scopes: 'org.read',
        expiresInDays: '30',
      });
      expect(key.statusCode).toBe(403);
      expect(key.body).not.toMatch(/rmp_live_[a-z0-9]{16}_/);
    },
  );

  it('[O1] a non-member gets the 404 page on every organization page and form', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const stranger = await person();
    for (const path of ['', '/members', '/invitations', '/api-keys']) {
      const res = await page(stranger.client, `/orgs/${orgId}${path}`);
      expect(res.statusCode, path).toBe(404);
      expect(res.body).toContain('<h1>Not found</h1>');
    }
    const unknown = await page(stranger.client, '/orgs/00000000-0000-4000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    for (const [path, fields] of [
      ['/rename', { name: 'Mine now' }],
      ['/switch', {}],
      ['/leave', {}],
      ['/invitations', { email: 'x@example.com', role: 'viewer' }],
      ['/api-keys', { name: 'k', scopes: 'org.read', expiresInDays: '30' }],
      [`/members/${owner.id}/remove`, {}],
    ] as const) {
      expect((await stranger.client.submit(`/orgs/${orgId}${path}`, fields)).statusCode, path).toBe(404);
    }
    expect(await orgName(orgId)).toBe('Acme');
  });

  it('[O1] signed-out visitors are sent to sign in and back', async () => {
    const res = await page(new TestClient(t.app), '/orgs');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/signin?next=%2Forgs');
  });
});

describe('members and invitations pages (O1, O3)', () => {
  it('[O3] invite through the form, follow the mail link to the accept page, sign in, and join', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client, 'Welcome Co');
    const invitee = await helpers.verified();
    const res = await owner.client.submit(`/orgs/${orgId}/invitations`, { email: invitee, role: 'member' });
    expect(res.headers.location).toBe(`/orgs/${orgId}/members?done=invited`);
    const pending = await page(owner.client, `/orgs/${orgId}/invitations`);
    expect(pending.body).toContain(invitee);
    expect(pending.body).toContain(`aria-label="Revoke the invitation to ${invitee}"`);

    const path = await invitationPath(invitee);
    const browser = new TestClient(t.app);
    const signedOut = await page(browser, path);
    expect(signedOut.statusCode).toBe(303);
    expect(signedOut.headers.location).toBe(`/signin?next=${encodeURIComponent(path)}`);
    const signIn = await browser.submit(signedOut.headers.location as string, {
      email: invitee,
      password: 'vivid otter pencil marble',
    });
    expect(signIn.headers.location).toBe(path);

    const accept = await page(browser, path);
    expect(accept.statusCode).toBe(200);
    expect(accept.body).toContain('Accept invitation');
    const params = new URL(path, 'http://x').searchParams;
    expect(accept.body).toContain(`name="token" value="${params.get('token')}"`);
    const done = await browser.submit('/invitations/accept', { org: params.get('org')!, token: params.get('token')! });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`/orgs/${orgId}`);
    expect((await page(browser, `/orgs/${orgId}`)).body).toContain('your role: Member');
    expect((await page(owner.client, `/orgs/${orgId}/members`)).body).toContain(invitee);

    // Single use: the same link again is a clear message, not an error page.
    const again = await browser.submit('/invitations/accept', { org: params.get('org')!, token: params.get('token')! });
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('This invitation cannot be used');
    expect(again.body).toContain('invalid, expired, already used, or for another address');
    const damaged = await browser.submit('/invitations/accept', { org: 'nope', token: 'x' });
    expect(damaged.statusCode).toBe(400);
    expect(damaged.body).toContain('This invitation cannot be used');
  });

  it('[O3] a bad e-mail or role in the invite form is shown next to the field; no one is invited', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const res = await owner.client.submit(`/orgs/${orgId}/invitations`, { email: 'not-an-address', role: 'member' });
    expect(res.statusCode).toBe(400);
    expect(fieldTag(res.body, 'field-email')).toContain('aria-invalid="true"');
    expect(fieldTag(res.body, 'field-email')).toContain('value="not-an-address"');
    expect(res.body).toMatch(/id="field-email-error"[^>]*>must be an e-mail address/);
    const role = await owner.client.submit(`/orgs/${orgId}/invitations`, { email: 'ok@example.com', role: 'emperor' });
    expect(role.statusCode).toBe(400);
    expect(fieldTag(role.body, 'field-role')).toContain('aria-invalid="true"');
    expect((await owner.client.api('GET', `/api/v1/orgs/${orgId}/invitations`)).json().invitations).toEqual([]);
  });

  it('[O3] resend and revoke from the invitations page', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const invitee = await person();
    await owner.client.submit(`/orgs/${orgId}/invitations`, { email: invitee.email, role: 'viewer' });
    const first = await invitationPath(invitee.email);
    const [inv] = (await owner.client.api('GET', `/api/v1/orgs/${orgId}/invitations`)).json().invitations;
    const resent = await owner.client.submit(`/orgs/${orgId}/invitations/${inv.id}/resend`, {});
    expect(resent.headers.location).toBe(`/orgs/${orgId}/invitations?done=resent`);
    const [fresh] = (await owner.client.api('GET', `/api/v1/orgs/${orgId}/invitations`)).json().invitations;
    expect(fresh.id).not.toBe(inv.id);
    const firstParams = new URL(first, 'http://x').searchParams;
    expect(
      (await invitee.client.submit('/invitations/accept', { org: orgId, token: firstParams.get('token')! })).statusCode,
    ).toBe(400);

    const revoked = await owner.client.submit(`/orgs/${orgId}/invitations/${fresh.id}/revoke`, {});
    expect(revoked.headers.location).toBe(`/orgs/${orgId}/invitations?done=invitation_revoked`);
    const list = await page(owner.client, `/orgs/${orgId}/invitations?done=invitation_revoked`);
    expect(list.body).toContain('No pending invitations.');
    expect(list.body).toContain('The invitation is revoked.');
  });

  it("[O1] [O3] change a member's role and remove them through the forms; removal takes effect at once", async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const member = await join(owner.client, orgId, 'member');
    const admin = await join(owner.client, orgId, 'admin');

    const members = await page(owner.client, `/orgs/${orgId}/members`);
    expect(members.body).toContain(`aria-label="Remove ${member.email}"`);
    expect(members.body).toContain(
      `<label for="role-${member.id}" class="visually-hidden">Role of ${member.email}</label>`,
    );
    expect(members.body).toMatch(/<th scope="col">E-mail<\/th>/);

    // An admin sees controls only for roles at or below their own: no owner option, no controls on the owner.
    const adminView = (await page(admin.client, `/orgs/${orgId}/members`)).body;
    expect(adminView).not.toContain('<option value="owner"');
    expect(adminView).not.toContain(`aria-label="Remove ${owner.email}"`);
    expect(adminView).toContain(`aria-label="Remove ${member.email}"`);

    const changed = await owner.client.submit(`/orgs/${orgId}/members/${member.id}/role`, { role: 'viewer' });
    expect(changed.headers.location).toBe(`/orgs/${orgId}/members?done=role`);
    expect((await page(member.client, `/orgs/${orgId}`)).body).toContain('your role: Viewer');

    // An admin may not make anyone an owner, however the form is forged.
    const forged = await admin.client.submit(`/orgs/${orgId}/members/${member.id}/role`, { role: 'owner' });
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('You cannot do that');

    // The last owner cannot step down: the message is shown on the members page.
    const last = await owner.client.submit(`/orgs/${orgId}/members/${owner.id}/role`, { role: 'admin' });
    expect(last.statusCode).toBe(409);
    expect(last.body).toContain('An organization keeps at least one owner');

    const removed = await owner.client.submit(`/orgs/${orgId}/members/${member.id}/remove`, {});
    expect(removed.headers.location).toBe(`/orgs/${orgId}/members?done=removed`);
    expect((await page(member.client, `/orgs/${orgId}`)).statusCode).toBe(404);
    expect((await page(owner.client, `/orgs/${orgId}/members`)).body).not.toContain(member.email);

    const left = await admin.client.submit(`/orgs/${orgId}/leave`, {});
    expect(left.headers.location).toBe('/orgs?done=left');
    expect((await page(admin.client, `/orgs/${orgId}`)).statusCode).toBe(404);
  });
});

describe('API keys page (O6)', () => {
  const KEY = /rmp_live_[a-z0-9]{16}_[A-Za-z0-9_-]{43}/;

  it('[O6] create a key through the form: shown once on the response, never on the list; then revoke it', async () => {
    const owner = await person();
    const orgId = await orgOf(owner.client);
    const form = await page(owner.client, `/orgs/${orgId}/api-keys`);
    expect(form.body).toContain('value="org.read"');
    expect(form.body).toContain('See the organization and its settings');
    expect(fieldTag(form.body, 'field-expiresInDays')).toContain('value="90"');

    // Two scopes are two fields of the same name, as a browser sends ticked checkboxes.
    const created = await owner.client.request({
      method: 'POST',
      url: `/orgs/${orgId}/api-keys`,
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams([
        ['name', 'billing backend'],
        ['scopes', 'org.read'],
        ['scopes', 'members.read'],
        ['expiresInDays', '30'],
        ['_csrf', await owner.client.csrf()],
      ]).toString(),
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const key = KEY.exec(created.body)?.[0];
    expect(key).toBeDefined();
    expect(created.body).toContain('it will not be shown again');

    const [info] = (await owner.client.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).json().keys;
    expect(info).toMatchObject({ name: 'billing backend', scopes: ['org.read', 'members.read'] });
    const list = await page(owner.client, `/orgs/${orgId}/api-keys`);
    expect(list.body).toContain(info.prefix);
    expect(list.body).not.toMatch(KEY);
    expect(list.body).not.toContain(key!.slice(-20));

    const api = await t.app.inject({ url: `/api/v1/orgs/${orgId}`, headers: { authorization: `Bearer ${key}` } });
    expect(api.statusCode).toBe(200);

    const revoked = await owner.client.submit(`/orgs/${orgId}/api-keys/${info.id}/revoke`, {});
    expect(revoked.headers.location).toBe(`/orgs/${orgId}/api-keys?done=key_revoked`);
    expect(
      (await t.app.inject({ url: `/api/v1/orgs/${orgId}`, headers: { authorization: `Bearer ${key}` } })).statusCode,
    ).toBe(401);
    expect((await page(owner.client, `/orgs/${orgId}/api-keys`)).body).toContain('No API keys.');
  });

  it(
    '[O6] missing scopes, a bad expiry or an empty name are shown next to the fields; nothing is ' + 'created',
    async () => {
      const owner = await person();
      const orgId = await orgOf(owner.client);
      const res = await owner.client.submit(`/orgs/${orgId}/api-keys`, { name: 'ci', expiresInDays: '400' });
      expect(res.statusCode).toBe(400);
      expect(res.body).toMatch(/id="field-scopes-error"[^>]*>choose at least one scope/);
      expect(fieldTag(res.body, 'scope-org.read')).toContain('aria-invalid="true"');
      expect(fieldTag(res.body, 'field-expiresInDays')).toContain('aria-invalid="true"');
      expect(fieldTag(res.body, 'field-name')).toContain('value="ci"');
      const empty = await owner.client.submit(`/orgs/${orgId}/api-keys`, {
        name: ' ',
        scopes: 'org.read',
        expiresInDays: '30',
      });
      expect(empty.statusCode).toBe(400);
      expect(fieldTag(empty.body, 'field-name')).toContain('aria-invalid="true"');
      expect(fieldTag(empty.body, 'scope-org.read')).toContain('checked');
      expect((await owner.client.api('GET', `/api/v1/orgs/${orgId}/api-keys`)).json().keys).toEqual([]);
    },
  );
});

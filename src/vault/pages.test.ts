import { afterAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';

/* The Connections tab and the operator's provider page, as a browser without scripts uses them. */

const server = await new TestProvider().start();
const { t } = await vaultTestApp(server);
afterAll(async () => {
  await t.close();
  await server.close();
});
const helpers = accounts(t);
const people = orgPeople(t);
const admin = await providerAdmin(t);
await admin.provider('page-bearer', server);
await admin.provider('page-basic', server, { authStyle: 'basic' });

const owner = await helpers.signedIn(await helpers.verified());
const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Pages Inc' })).json().id as string;
const tab = `/orgs/${orgId}/connections`;

describe('the Connections tab (D1, O1)', () => {
  it('[D1] add, see masked, replace, check and delete with plain forms; errors next to their fields', async () => {
    const key = freshSecret();
    server.accepted.add(key);
    const empty = await owner.form(tab, { providerId: 'page-bearer', label: '', secret: key });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toMatch(/id="field-label-error"[^>]*>is required/);
    expect(empty.body).not.toContain(key);
    expect(empty.body).toMatch(/<input id="field-secret" name="secret" type="password"(?![^>]*value=)/);

    const added = await owner.form(tab, { providerId: 'page-bearer', label: 'Production', secret: key });
    expect(added.statusCode).toBe(303);
    expect(added.headers.location).toBe(`${tab}?done=created`);
    let page = (await owner.page(`${tab}?done=created`)).body;
    expect(page).toContain('The connection is saved.');
    expect(page).toContain(`sk_live_…${key.slice(-4)}`);
    expect(page).toContain('VALID');
    expect(page).not.toContain(key);
    const id = /\/connections\/([0-9a-f-]{36})\/check/.exec(page)![1]!;

    const taken = await owner.form(tab, { providerId: 'page-bearer', label: 'Production', secret: freshSecret() });
    expect(taken.statusCode).toBe(409);
    expect(taken.body).toContain('already has that label');

    const next = freshSecret();
    expect((await owner.form(`${tab}/${id}/secret`, { secret: next })).statusCode).toBe(303);
    page = (await owner.page(tab)).body;
    expect(page).toContain(`…${next.slice(-4)}`);
    expect(page).toContain('INVALID');
    expect(page).not.toContain(next);

    server.accepted.add(next);
    expect((await owner.form(`${tab}/${id}/check`, {})).statusCode).toBe(303);
    expect((await owner.page(tab)).body).toContain('VALID');

    const pair = { username: 'page-user', secret: freshSecret('pw_') };
    server.accepted.add(`${pair.username}:${pair.secret}`);
    expect((await owner.form(tab, { providerId: 'page-basic', label: 'Basic', ...pair })).statusCode).toBe(303);

    expect((await owner.form(`${tab}/${id}/delete`, {})).statusCode).toBe(303);
    page = (await owner.page(`${tab}?done=deleted`)).body;
    expect(page).toContain('The connection and its key are deleted.');
    expect(page).not.toContain('Production');
  });

  it('[R1] every form carries the CSRF token; a post without it is refused', async () => {
    const page = (await owner.page(tab)).body;
    const forms = [...page.matchAll(/<form method="post"[\s\S]*?<\/form>/g)].map((m) => m[0]);
    expect(forms.length).toBeGreaterThan(0);
    for (const f of forms) expect(f).toContain('name="_csrf"');
    const res = await owner.request({
      method: 'POST',
      url: tab,
      form: { providerId: 'page-bearer', label: 'no token', secret: freshSecret() },
      headers: { accept: 'text/html' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('[O1] a member sees the list without forms; a viewer does not get the page', async () => {
    const member = await people.join(owner, orgId, 'member');
    const viewer = await people.join(owner, orgId, 'viewer');
    const page = await member.client.page(tab);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Basic');
    expect(page.body).not.toContain('Add a connection');
    expect(page.body).not.toContain('/delete"');
    expect((await viewer.client.page(tab)).statusCode).toBe(403);
    expect(
      (await member.client.form(tab, { providerId: 'page-bearer', label: 'm', secret: freshSecret() })).statusCode,
    ).toBe(403);
  });
});

describe("the operator's provider page (T3)", () => {
  it('[T3] add, change and remove providers; a bad host is refused by its field; secrets are hidden', async () => {
    const { client: op } = await operatorClient(t);
    const page = await op.page('/operator/connections');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Connection providers');
    expect(page.body).toMatch(/<input id="field-clientSecret" name="clientSecret" type="password"/);
    const form = {
      id: 'from-page',
      name: 'From the page',
      kind: 'api_key',
      allowedHosts: 'api.example.com\n10.1.2.3',
      authStyle: 'header',
      authName: 'X-Key',
      validationMethod: 'GET',
      validationPath: '/v1/me',
    };
    const bad = await op.form('/operator/connections', form);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/id="field-allowedHosts-error"[^>]*>10\.1\.2\.3 is a private/);
    const good = await op.form('/operator/connections', { ...form, allowedHosts: 'api.example.com' });
    expect(good.statusCode).toBe(303);
    const listed = (await op.page('/operator/connections?done=saved')).body;
    expect(listed).toContain('From the page');
    expect(listed).toContain('header X-Key');
    const edit = (await op.page('/operator/connections?edit=from-page')).body;
    expect(edit).toContain('Change From the page');
    expect((await op.form('/operator/connections/from-page/remove', {})).statusCode).toBe(303);
    expect((await op.page('/operator/connections')).body).not.toContain('From the page');
    expect((await owner.page('/operator/connections')).statusCode).toBe(403);
  });
});

describe('OAuth providers on the Connections tab (A7)', () => {
  it("[A7] an OAuth provider gets a Connect form; the page's form-action allows its authorize URL", async () => {
    const res = await admin.op('PUT', '/api/v1/operator/vault/providers/page-oauth', {
      name: 'Page OAuth',
      kind: 'oauth',
      allowedHosts: ['api.oauth-example.com'],
      authStyle: 'bearer',
      oauth: {
        authorizationEndpoint: 'https://auth.oauth-example.com/authorize',
        tokenEndpoint: 'https://auth.oauth-example.com/token',
        clientId: 'rampart',
      },
    });
    expect(res.statusCode).toBe(200);
    const page = await owner.page(tab);
    expect(page.body).toContain(`action="/orgs/${orgId}/connections/oauth/start"`);
    expect(String(page.headers['content-security-policy'])).toMatch(
      /form-action 'self' https:\/\/auth\.oauth-example\.com/,
    );
    const ids = [...page.body.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.length).toBe(new Set(ids).size);
  });
});

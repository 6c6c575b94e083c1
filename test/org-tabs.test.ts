import { describe, expect, it } from 'vitest';
import { fileTestApp } from './helpers/app.js';
import { orgPeople } from './helpers/orgs.js';

/*
 * The tabs of an organization's pages come from the feature modules (orgs adds its own, the audit
 * feature adds the audit log): each shows only to roles whose permission it names.
 */

const t = await fileTestApp();
const people = orgPeople(t);

const tabsOn = (html: string) => {
  const nav = /<nav aria-label="Organization sections"[^>]*>([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
  return [...nav.matchAll(/<a href="\/orgs\/[0-9a-f-]{36}([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => `${m[2]} ${m[1]}`);
};

describe('organization tabs from the feature list (O1)', () => {
  it("[O1] an owner sees every feature's tab, a member its own, a viewer the notices; current one marked", async () => {
    const owner = await people.person();
    const orgId = (await owner.client.api('POST', '/api/v1/orgs', { name: 'Tabs' })).json().id as string;
    const member = await people.join(owner.client, orgId, 'member');
    const viewer = await people.join(owner.client, orgId, 'viewer');

    const ownerPage = (await owner.client.page(`/orgs/${orgId}/members`)).body;
    expect(tabsOn(ownerPage)).toEqual([
      'Settings ',
      'Members /members',
      'Invitations /invitations',
      'API keys /api-keys',
      'Access review /review',
      'Audit log /audit',
      'Connections /connections',
      'Security notices /security-notices',
    ]);
    expect(ownerPage).toMatch(/<a href="\/orgs\/[0-9a-f-]{36}\/members" aria-current="page">Members<\/a>/);

    expect(tabsOn((await member.client.page(`/orgs/${orgId}`)).body)).toEqual([
      'Settings ',
      'Members /members',
      'Connections /connections',
      'Security notices /security-notices',
    ]);
    // A viewer reads only what concerns everyone: the security notices of its organization (X1).
    expect(tabsOn((await viewer.client.page(`/orgs/${orgId}`)).body)).toEqual([
      'Settings ',
      'Security notices /security-notices',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { trustTestApp } from '../../test/helpers/trust.js';
import type { Feature, Permission } from '../feature.js';
import { FEATURES } from '../features.js';

/** Lets every request to an audit route in as an API key of `org` (an authentication hole, on purpose). */
const org = { id: '', ownerId: '' };
const openAudit: Feature = {
  name: 'open-audit',
  title: 'Open audit (test)',
  hooks(app) {
    app.addHook('onRequest', async (request) => {
      if (!org.id || !request.url.includes('/audit')) return;
      request.apiKey = {
        kind: 'key',
        keyId: 'holeholeholehole',
        orgId: org.id,
        scopes: new Set<Permission>(['audit.read', 'audit.export']),
        createdBy: org.ownerId,
      };
    });
  },
};

const good = await trustTestApp();
const broken = await trustTestApp({}, { features: [...FEATURES, openAudit] });

async function anOrg(t: typeof good.t) {
  const owner = await accounts(t).signedIn(await accounts(t).verified());
  const ownerId = (await owner.api('GET', '/api/v1/me')).json().user.id as string;
  const id = (await owner.api('POST', '/api/v1/orgs', { name: 'Logged' })).json().id as string;
  return { id, ownerId };
}

describe('L2 audit log access check', () => {
  it('[L2] audit access check passes: no session refused, owner/admin only, tampering caught', async () => {
    const v = await good.check('audit-log-access');
    expect(v.status, v.detail).toBe('passing');
    await anOrg(good.t);
    const withOrg = await good.check('audit-log-access');
    expect(withOrg.status, withOrg.detail).toBe('passing');
    expect(withOrg.detail).toMatch(/answered 401\/403 without a session.*named the altered third event/);
    expect(withOrg.detail).toContain('event 3 was altered after it was written');
  });

  it('[L2] the tamper probe leaves nothing behind: the made-up stream is rolled back', async () => {
    const before = await good.t.db.owner.selectFrom('audit_heads').select('stream').execute();
    await good.check('audit-log-access');
    const after = await good.t.db.owner.selectFrom('audit_heads').select('stream').execute();
    expect(after).toEqual(before);
  });

  it('[L2] audit access check fails when the export answers a caller without a session', async () => {
    Object.assign(org, await anOrg(broken.t));
    const v = await broken.check('audit-log-access');
    expect(v.status).toBe('failing');
    expect(v.detail).toContain('GET /api/v1/orgs/:orgId/audit/export?format=csv without a session answered 200');
    expect(v.detail).toContain('POST /api/v1/orgs/:orgId/audit/verify without a session answered 200');
  });
});

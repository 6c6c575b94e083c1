import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { OUT_OF_RANGE_CURSORS } from '../../test/helpers/input.js';

let t: TestApp;
let owner: TestClient;
let ownerId: string;
let orgId: string;

beforeAll(async () => {
  t = await createTestApp();
  const helpers = accounts(t);
  owner = await helpers.signedIn(await helpers.verified());
  ownerId = (await owner.api('GET', '/api/v1/me')).json().user.id;
  orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Logged' })).json().id;
  for (let i = 0; i < 5; i++) await owner.api('PATCH', `/api/v1/orgs/${orgId}`, { name: `Logged ${i}` });
  for (let i = 0; i < 3; i++)
    await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email: freshEmail(), role: 'member' });
});
afterAll(() => t.close());

describe('organization audit log (L2)', () => {
  it('[L2] owners read the log newest first, filtered by action (exact or prefix) and actor', async () => {
    const all = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit`)).json();
    expect(all.events.map((e: { action: string }) => e.action)).toEqual([
      ...Array(3).fill('member.invited'),
      ...Array(5).fill('org.renamed'),
      'org.created',
    ]);
    expect(all.next).toBeNull();
    const renamed = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit?action=org.renamed`)).json().events;
    expect(renamed).toHaveLength(5);
    expect(renamed[0]).toMatchObject({ actor: `user:${ownerId}`, payload: { from: 'Logged 3', to: 'Logged 4' } });
    expect((await owner.api('GET', `/api/v1/orgs/${orgId}/audit?action=org.*`)).json().events).toHaveLength(6);
    expect((await owner.api('GET', `/api/v1/orgs/${orgId}/audit?actor=user:${ownerId}`)).json().events).toHaveLength(9);
    expect(
      (await owner.api('GET', `/api/v1/orgs/${orgId}/audit?actor=user:00000000-0000-4000-8000-000000000000`)).json()
        .events,
    ).toHaveLength(0);
  });

  it('[L2] keyset pages walk the whole log without gaps or repeats', async () => {
    const seen: number[] = [];
    let next: number | null = null;
    do {
      const page: { events: { seq: number }[]; next: number | null } = (
        await owner.api('GET', `/api/v1/orgs/${orgId}/audit?limit=4${next ? `&before=${next}` : ''}`)
      ).json();
      seen.push(...page.events.map((e) => e.seq));
      next = page.next;
    } while (next);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe(1);
  });

  it('[L2] a time range filters by when events happened, and a reversed range is refused', async () => {
    const now = t.clock.now();
    const from = new Date(now.getTime() - 1000).toISOString();
    const to = new Date(now.getTime() + 1000).toISOString();
    expect(
      (await owner.api('GET', `/api/v1/orgs/${orgId}/audit?from=${from}&to=${to}`)).json().events.length,
    ).toBeGreaterThan(0);
    expect((await owner.api('GET', `/api/v1/orgs/${orgId}/audit?to=${from}`)).json().events).toHaveLength(0);
    expect((await owner.api('GET', `/api/v1/orgs/${orgId}/audit?from=${to}&to=${from}`)).statusCode).toBe(400);
  });

  it('[L2] exports as CSV and JSON Lines, and each export is itself an audit event', async () => {
    const csv = await owner.api('GET', `/api/v1/orgs/${orgId}/audit/export?format=csv&action=org.renamed`);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="audit-.*\.csv"/);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('seq,occurred_at,actor,action,target,ip,user_agent,payload,hash');
    expect(lines).toHaveLength(6);
    const jsonl = await owner.api('GET', `/api/v1/orgs/${orgId}/audit/export?format=jsonl`);
    const events = jsonl.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ seq: 1, action: 'org.created' });
    expect(events.at(-1)).toMatchObject({ action: 'audit.exported', payload: { format: 'csv', count: 5 } });
    const latest = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit?limit=1`)).json().events[0];
    expect(latest).toMatchObject({ action: 'audit.exported', payload: { format: 'jsonl' } });
  });

  it('[L2] exported cells that a spreadsheet would run as formulas are neutralised', async () => {
    await owner.api('PATCH', `/api/v1/orgs/${orgId}`, { name: '=HYPERLINK("http://evil.example")' });
    const csv = (await owner.api('GET', `/api/v1/orgs/${orgId}/audit/export?format=csv&action=org.renamed`)).body;
    expect(csv).not.toMatch(/(^|,)=HYPERLINK/m);
  });

  it('[L2] verify shows ok, and names the first broken event after tampering', async () => {
    expect((await owner.api('POST', `/api/v1/orgs/${orgId}/audit/verify`)).json()).toMatchObject({ ok: true });
    await t.db.owner.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      await sql`update audit_events set action = 'org.nothing_happened'
                where stream = ${`org:${orgId}`} and seq = 3`.execute(tx);
    });
    expect((await owner.api('POST', `/api/v1/orgs/${orgId}/audit/verify`)).json()).toMatchObject({
      ok: false,
      brokenAt: 3,
    });
  });

  it(
    '[R5] audit before=Infinity (and -Infinity, 2^63-1, 1e30, 0xffffffffffffffff, 96 digits) is a 400, not a ' + '500',
    async () => {
      for (const before of OUT_OF_RANGE_CURSORS) {
        const res = await owner.api('GET', `/api/v1/orgs/${orgId}/audit?before=${encodeURIComponent(before)}`);
        expect(res.statusCode, before).toBe(400);
        expect(res.json().error).toMatchObject({
          code: 'invalid_request',
          fields: [expect.objectContaining({ field: 'before' })],
        });
      }
      const largest = await owner.api('GET', `/api/v1/orgs/${orgId}/audit?before=${Number.MAX_SAFE_INTEGER}`);
      expect(largest.statusCode).toBe(200);
      expect(largest.json().events.length).toBeGreaterThan(0);
    },
  );

  it('[R5] audit limit=Infinity (and -Infinity, 1e400, 201, 0) is a 400, not a page of 200 events', async () => {
    for (const limit of ['Infinity', '-Infinity', '1e400', '201', '0']) {
      const res = await owner.api('GET', `/api/v1/orgs/${orgId}/audit?limit=${limit}`);
      expect(res.statusCode, limit).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'invalid_request',
        fields: [expect.objectContaining({ field: 'limit' })],
      });
    }
    expect((await owner.api('GET', `/api/v1/orgs/${orgId}/audit?limit=200`)).statusCode).toBe(200);
  });

  it('[L2] members and viewers cannot read the log', async () => {
    const helpers = accounts(t);
    const email = await helpers.verified();
    const member = await helpers.signedIn(email);
    await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, { email, role: 'member' });
    const [, org, token] = /accept\?org=([0-9a-f-]{36})&token=([A-Za-z0-9_-]{43})/.exec(
      (await t.mailTo(email, /invited/)).text,
    )!;
    await member.api('POST', '/api/v1/invitations/accept', { org, token });
    expect((await member.api('GET', `/api/v1/orgs/${orgId}/audit`)).statusCode).toBe(403);
    expect((await member.api('GET', `/api/v1/orgs/${orgId}/audit/export?format=csv`)).statusCode).toBe(403);
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import {
  appendAudit,
  orgStream,
  streamName,
  systemStream,
  userStream,
  verifyAllStreams,
  verifyChain,
} from './events.js';
import { testAction } from '../../../test/helpers/audit-actions.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.dispose());

/** Simulates a database administrator bypassing the append-only trigger. */
async function asTamperingOwner(statement: ReturnType<typeof sql>): Promise<void> {
  await db.owner.transaction().execute(async (tx) => {
    await sql`set local session_replication_role = replica`.execute(tx);
    await statement.execute(tx);
  });
}

describe('audit chain', () => {
  it('[L1] 200 concurrent appends to one stream form one valid chain with no gaps', async () => {
    const org = randomUUID();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db.withTenant(org, (tx) =>
          appendAudit(tx, { stream: orgStream(org), action: testAction('test.append'), payload: { i } }),
        ),
      ),
    );
    const verdict = await db.withTenant(org, (tx) => verifyChain(tx, `org:${org}`));
    expect(verdict).toEqual({ ok: true, stream: `org:${org}`, events: 200 });
    const seqs = await db.withTenant(org, async (tx) =>
      (await tx.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq)),
    );
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('[L1] an event and the action it records commit together or not at all', async () => {
    const user = randomUUID();
    await expect(
      db.withSystem(async (tx) => {
        await appendAudit(tx, { stream: userStream(user), action: testAction('user.updated') });
        throw new Error('the action failed');
      }),
    ).rejects.toThrow('the action failed');
    const rows = await db.withSystem((tx) =>
      tx.selectFrom('audit_events').where('stream', '=', `user:${user}`).selectAll().execute(),
    );
    expect(rows).toEqual([]);
  });

  it('[L1] events keep actor, target, request context and payload, and hash them', async () => {
    const user = randomUUID();
    const appended = await db.withSystem((tx) =>
      appendAudit(tx, {
        stream: userStream(user),
        action: testAction('user.signed_in'),
        actor: `user:${user}`,
        target: `session:abc`,
        context: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 "quoted" ünïcode', requestId: 'req-1' },
        payload: { method: 'password', nested: { b: 2, a: [1, 'x', null, true] }, ratio: 0.25 },
      }),
    );
    expect(appended).toMatchObject({ stream: `user:${user}`, seq: 1 });
    expect(appended.hash).toMatch(/^[0-9a-f]{64}$/);
    const row = await db.withSystem((tx) =>
      tx.selectFrom('audit_events').selectAll().where('stream', '=', `user:${user}`).executeTakeFirstOrThrow(),
    );
    expect(row).toMatchObject({
      actor: `user:${user}`,
      ip: '203.0.113.9',
      request_id: 'req-1',
      payload: { method: 'password', nested: { a: [1, 'x', null, true], b: 2 }, ratio: 0.25 },
    });
    expect(await db.withSystem((tx) => verifyChain(tx, `user:${user}`))).toMatchObject({ ok: true, events: 1 });
  });

  it('[L1] the runtime role can neither update nor delete events', async () => {
    const org = randomUUID();
    await db.withTenant(org, (tx) => appendAudit(tx, { stream: orgStream(org), action: testAction('a') }));
    await expect(db.withTenant(org, (tx) => sql`update audit_events set action = 'b'`.execute(tx))).rejects.toThrow(
      /permission denied/,
    );
    await expect(db.withTenant(org, (tx) => sql`delete from audit_events`.execute(tx))).rejects.toThrow(
      /permission denied/,
    );
    await expect(db.withTenant(org, (tx) => sql`truncate audit_events`.execute(tx))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('[L1] even the owner cannot update or delete events while the append-only trigger stands', async () => {
    await expect(sql`update audit_events set action = 'x'`.execute(db.owner)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_events`.execute(db.owner)).rejects.toThrow(/append-only/);
  });

  async function streamOf(n: number): Promise<string> {
    const org = randomUUID();
    for (let i = 0; i < n; i++)
      await db.withTenant(org, (tx) =>
        appendAudit(tx, { stream: orgStream(org), action: testAction(`step.${i + 1}`) }),
      );
    return org;
  }

  it('[L1] an edited event is detected at exactly that event', async () => {
    const org = await streamOf(6);
    await asTamperingOwner(
      sql`update audit_events set payload = '{"forged":true}' where stream = ${`org:${org}`} and seq = 4`,
    );
    const verdict = await db.withTenant(org, (tx) => verifyChain(tx, `org:${org}`));
    expect(verdict).toMatchObject({ ok: false, brokenAt: 4, reason: 'event 4 was altered after it was written' });
  });

  it('[L1] an edit that recomputes the hash is still detected by the next event', async () => {
    const org = await streamOf(4);
    const stream = `org:${org}`;
    // Rewrite event 2 completely and fix its own hash: event 3 no longer links to it.
    await asTamperingOwner(sql`update audit_events set hash = ${'f'.repeat(64)} where stream = ${stream} and seq = 2`);
    const verdict = await db.withTenant(org, (tx) => verifyChain(tx, stream));
    expect(verdict).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('[L1] a deleted event is detected', async () => {
    const org = await streamOf(5);
    await asTamperingOwner(sql`delete from audit_events where stream = ${`org:${org}`} and seq = 3`);
    expect(await db.withTenant(org, (tx) => verifyChain(tx, `org:${org}`))).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: 'event 3 is missing',
    });
  });

  it('[L1] deleting the newest event is detected against the stream head', async () => {
    const org = await streamOf(3);
    await asTamperingOwner(sql`delete from audit_events where stream = ${`org:${org}`} and seq = 3`);
    expect(await db.withTenant(org, (tx) => verifyChain(tx, `org:${org}`))).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it('[L1] org streams are tenant data: another org sees none of them', async () => {
    const org = await streamOf(2);
    const other = randomUUID();
    const seen = await db.withTenant(other, (tx) =>
      tx.selectFrom('audit_events').selectAll().where('stream', '=', `org:${org}`).execute(),
    );
    expect(seen).toEqual([]);
    await expect(
      db.withTenant(other, (tx) => appendAudit(tx, { stream: orgStream(org), action: testAction('forged') })),
    ).rejects.toThrow(/row-level security/);
  });

  it('[L1] verifyAllStreams covers every organization and the system stream', async () => {
    await db.withSystem((tx) => appendAudit(tx, { stream: systemStream, action: testAction('system.started') }));
    const verdicts = await db.owner.transaction().execute((tx) => verifyAllStreams(tx));
    const names = verdicts.map((v) => v.stream);
    expect(names).toContain(streamName(systemStream));
    expect(names.filter((n) => n.startsWith('org:')).length).toBeGreaterThanOrEqual(5);
    expect(verdicts.filter((v) => !v.ok).length).toBe(4); // the four streams tampered with above
  });
});

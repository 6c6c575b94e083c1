import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { appendAudit, orgStream, userStream } from '../audit/events.js';
import type { AfterCommit, Tx } from './database.js';
import { testAction } from '../../../test/helpers/audit-actions.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.dispose());

const org = randomUUID();
const person = randomUUID();
/** The three ways to a transaction, each appending to a stream it may write. */
const contexts = {
  withTenant: { run: <T>(fn: (tx: Tx, a: AfterCommit) => Promise<T>) => db.withTenant(org, fn), stream: `org:${org}` },
  withSystem: { run: <T>(fn: (tx: Tx, a: AfterCommit) => Promise<T>) => db.withSystem(fn), stream: 'system' },
  withPerson: {
    run: <T>(fn: (tx: Tx, a: AfterCommit) => Promise<T>) => db.withPerson(person, fn),
    stream: `user:${person}`,
  },
};
const streamOf = (name: string) =>
  name === 'system'
    ? ({ kind: 'system' } as const)
    : name.startsWith('org:')
      ? orgStream(name.slice(4))
      : userStream(name.slice(5));

/** Events of a stream, read in a transaction of its own (so only committed ones). */
const committed = (name: string, action: string) => {
  const read = (tx: Tx) =>
    sql<{ n: number }>`select count(*)::int as n from audit_events where stream = ${name} and action = ${action}`
      .execute(tx)
      .then((r) => r.rows[0]!.n);
  return name.startsWith('org:') ? db.withTenant(org, read) : db.withSystem(read);
};

describe(`the after-commit hook on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'} (O3, S3)`, () => {
  for (const [name, ctx] of Object.entries(contexts)) {
    it(
      `[O3] ${name}: work registered with afterCommit runs after COMMIT, in order, before the call ` + `returns`,
      async () => {
        const action = testAction(`test.commit.${randomUUID()}`);
        const seen: Array<{ step: string; visibleElsewhere: number }> = [];
        const result = await ctx.run(async (tx, afterCommit) => {
          await appendAudit(tx, { stream: streamOf(ctx.stream), action });
          afterCommit(async () => {
            // Another transaction sees the change: it committed before this ran.
            seen.push({ step: 'first', visibleElsewhere: await committed(ctx.stream, action) });
          });
          afterCommit(() => void seen.push({ step: 'second', visibleElsewhere: -1 }));
          expect(seen).toEqual([]); // nothing runs while the transaction is open
          return 'done';
        });
        expect(result).toBe('done');
        expect(seen).toEqual([
          { step: 'first', visibleElsewhere: 1 },
          { step: 'second', visibleElsewhere: -1 },
        ]);
      },
    );

    it(`[O3] ${name}: a rollback (an error thrown, or a failed statement) discards the after-commit work`, async () => {
      const action = testAction(`test.rollback.${randomUUID()}`);
      let ran = 0;
      await expect(
        ctx.run(async (tx, afterCommit) => {
          await appendAudit(tx, { stream: streamOf(ctx.stream), action });
          afterCommit(() => void ran++);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      await expect(
        ctx.run(async (tx, afterCommit) => {
          await appendAudit(tx, { stream: streamOf(ctx.stream), action });
          afterCommit(() => void ran++);
          await sql`select 1 / 0`.execute(tx); // the database refuses a later statement
        }),
      ).rejects.toThrow(/division by zero/);
      expect(ran).toBe(0);
      expect(await committed(ctx.stream, action)).toBe(0);
    });
  }

  it('[O3] work cannot be registered once the transaction has ended', async () => {
    let late: AfterCommit | undefined;
    await db.withSystem(async (_tx, afterCommit) => {
      late = afterCommit;
    });
    expect(() => late!(() => {})).toThrow(/already ended/);
    await expect(
      db.withSystem(async (_tx, afterCommit) => {
        late = afterCommit;
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(() => late!(() => {})).toThrow(/already ended/);
  });

  it(
    '[O3] a failing piece of after-commit work does not undo the commit or hold back the rest; its error ' +
      'reaches the caller',
    async () => {
      const action = testAction(`test.failing.${randomUUID()}`);
      const ran: string[] = [];
      await expect(
        db.withTenant(org, async (tx, afterCommit) => {
          await appendAudit(tx, { stream: orgStream(org), action });
          afterCommit(() => {
            ran.push('first');
            throw new Error('broadcast failed');
          });
          afterCommit(() => void ran.push('second'));
        }),
      ).rejects.toThrow('broadcast failed');
      expect(ran).toEqual(['first', 'second']);
      expect(await committed(`org:${org}`, action)).toBe(1);
    },
  );
});

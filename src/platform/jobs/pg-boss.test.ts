import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.js';
import { defineFeature } from '../../feature.js';
import { FEATURES } from '../../features.js';
import { createOperatorTokens } from '../../operator/index.js';
import { systemClock } from '../clock.js';
import { currentRoleFacts, reachableTables } from '../db/catalog.js';
import { runtimeUrlFor } from '../db/database.js';
import { createLogger } from '../logging.js';
import { createJobLedger, createPgBossRunner, type JobRunner } from './index.js';

const databaseUrl = process.env.DATABASE_URL || undefined;
const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(databaseUrl)('the pg-boss job runner, several instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let owner: pg.Client;
  const runners: JobRunner[] = [];
  const instance = () => {
    const r = createPgBossRunner({
      logger,
      ledger: createJobLedger({ db, clock: systemClock }),
      connectionString: db.url!,
      pollingIntervalSeconds: 0.5,
      poolSize: 2,
    });
    runners.push(r);
    return r;
  };
  /** The jobs pg-boss queued for a queue, by time slot. */
  const slots = async (queue: string) =>
    (
      await owner.query<{ slot: string; jobs: number; completed: number }>(
        `select singleton_on::text as slot, count(*)::int as jobs,
                count(*) filter (where state = 'completed')::int as completed
         from pgboss.job where name = $1 and singleton_on is not null group by singleton_on order by singleton_on`,
        [queue],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    await owner.query('create table job_scratch (runner text not null, at timestamptz not null default now())');
  });
  afterAll(async () => {
    await Promise.allSettled(runners.map((r) => r.close()));
    await owner?.end();
    await db?.dispose();
  });

  it('[X8] two instances ticking one job: each time slot is queued once and run once in total', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = [instance(), instance()];
    for (const [r, who] of [
      [a, 'a'],
      [b, 'b'],
    ] as const)
      r.every('test.slots', 1000, async () => {
        await owner.query('insert into job_scratch (runner) values ($1)', [who]);
      });
    await Promise.all([a.start(), b.start()]);
    await sleep(4500); // four or so slots, each ticked twice by each instance

    const bySlot = await slots('test.slots');
    expect(bySlot.length).toBeGreaterThanOrEqual(3);
    for (const s of bySlot) expect(s.jobs).toBe(1);
    await sleep(1200); // the last slot's job finishes
    const finished = (await slots('test.slots')).filter((s) => s.completed === 1).length;
    const ran = (await owner.query<{ n: number }>('select count(*)::int as n from job_scratch')).rows[0]!.n;
    expect(ran).toBeGreaterThanOrEqual(finished); // a slot that started after the read above adds one
    expect(ran).toBeLessThanOrEqual((await slots('test.slots')).length);
    const [seen] = await a.status();
    expect(seen).toMatchObject({ name: 'test.slots', everyMs: 1000, lastOutcome: 'succeeded', consecutiveFailures: 0 });
    expect(seen!.totalRuns).toBe(ran);
  });

  it('[X8] stopping one instance leaves the other doing the work', { timeout: 60_000 }, async () => {
    const [a, b] = [instance(), instance()];
    const done = { a: 0, b: 0 };
    a.every('test.handover', 1000, async () => {
      done.a++;
    });
    b.every('test.handover', 1000, async () => {
      done.b++;
    });
    await Promise.all([a.start(), b.start()]);
    await sleep(2500);
    await a.close();
    const before = { ...done };
    await sleep(3500);
    expect(done.a).toBe(before.a);
    expect(done.b - before.b).toBeGreaterThanOrEqual(2);
    for (const s of await slots('test.handover')) expect(s.jobs).toBe(1);
  });

  it('[X8] a job that throws is recorded with its message for every instance; run(name) goes through the queue', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = [instance(), instance()];
    let fail = true;
    const work = async () => {
      if (fail) throw new Error('vault refresh: token endpoint answered 401');
    };
    a.every('test.throws', 3_600_000, work);
    b.every('test.throws', 3_600_000, work);
    await Promise.all([a.start(), b.start()]);

    await expect(a.run('test.throws')).rejects.toThrow('vault refresh: token endpoint answered 401');
    const [failed] = await b.status();
    expect(failed).toMatchObject({
      lastOutcome: 'failed',
      lastError: 'vault refresh: token endpoint answered 401',
      consecutiveFailures: 1,
      totalRuns: 1,
    });
    const output = await owner.query<{ output: Record<string, unknown> }>(
      "select output from pgboss.job where name = 'test.throws' and state = 'failed'",
    );
    expect(output.rows[0]!.output.message).toBe('vault refresh: token endpoint answered 401');
    expect(output.rows[0]!.output.stack).toBeUndefined(); // pg-boss keeps the message, never the stack

    fail = false;
    await b.run('test.throws');
    expect((await a.status())[0]).toMatchObject({ lastOutcome: 'succeeded', lastError: null, totalRuns: 2 });
    await expect(a.run('test.nothing')).rejects.toThrow(/no scheduled job named/);

    let late = 0;
    a.every('test.late', 3_600_000, async () => {
      late++;
    }); // defined after start, as a feature's routes() does
    await a.run('test.late');
    expect(late).toBe(1);
    expect((await a.status()).map((s) => s.name)).toEqual(['test.late', 'test.throws']);
  });

  it('[X8] on a full app over pg-boss, a job that throws shows its error in the operator API', {
    timeout: 60_000,
  }, async () => {
    const failing = defineFeature({
      name: 'failing',
      title: 'A failing job',
      setup: ({ platform }) =>
        platform.schedule.every('test.api', 3_600_000, async () => {
          throw new Error('refresh failed: upstream said invalid_grant');
        }),
    });
    const t = await createTestApp({}, undefined, { db, schedule: instance(), features: [...FEATURES, failing] });
    try {
      await expect(t.runJob('test.api')).rejects.toThrow('invalid_grant');
      const token = (await createOperatorTokens({ db, clock: systemClock }).create('pgboss-test')).token;
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/operator/jobs',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.json().runner).toBe('pg-boss');
      expect(res.json().jobs).toContainEqual(
        expect.objectContaining({
          name: 'test.api',
          lastOutcome: 'failed',
          lastError: 'refresh failed: upstream said invalid_grant',
        }),
      );
      expect(res.json().jobs.map((j: { name: string }) => j.name)).toContain('trust.checks');
    } finally {
      await t.close();
    }
  });

  it('[O2] with the pgboss schema present the runtime role still owns nothing and cannot reach it', async () => {
    const facts = await db.withSystem((tx) => currentRoleFacts(tx));
    expect(facts).toMatchObject({ superuser: false, bypassRls: false, owns: [] });
    const tables = await db.withSystem((tx) => reachableTables(tx));
    for (const table of tables) expect(table).toMatchObject({ rlsEnabled: true, rlsForced: true });
    expect(tables.map((x) => x.name)).toContain('job_runs');
    const runtime = new pg.Client({ connectionString: runtimeUrlFor(db.url!) });
    await runtime.connect();
    try {
      const can = await runtime.query<{ usage: boolean }>("select has_schema_privilege('pgboss', 'usage') as usage");
      expect(can.rows[0]!.usage).toBe(false);
      await expect(runtime.query('select count(*) from pgboss.job')).rejects.toThrow(/permission denied/);
    } finally {
      await runtime.end();
    }
  });
});

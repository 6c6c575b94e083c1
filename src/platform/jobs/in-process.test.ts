import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/helpers/database.js';
import { fixedClock } from '../clock.js';
import { createLogger } from '../logging.js';
import { createInProcessRunner, createJobLedger, errorMessage, type JobRunner } from './index.js';

const db = await createTestDatabase();
afterAll(() => db.dispose());
const clock = fixedClock('2026-03-02T10:00:00Z');
const logger = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
const runners: JobRunner[] = [];
afterAll(() => Promise.all(runners.map((r) => r.close())));

const runner = (timers = false) => {
  const r = createInProcessRunner({ logger, ledger: createJobLedger({ db, clock }), timers });
  runners.push(r);
  return r;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const statusOf = async (r: JobRunner, name: string) => (await r.status()).find((s) => s.name === name);

describe('the in-process job runner', () => {
  it('[X8] runs of one job never overlap, on timers or asked for', async () => {
    const r = runner(true);
    let active = 0;
    let most = 0;
    let runs = 0;
    r.every('test.overlap', 20, async () => {
      active++;
      most = Math.max(most, active);
      await sleep(60); // longer than the interval: ticks come while it runs
      active--;
      runs++;
    });
    await r.start();
    await Promise.all([r.run('test.overlap'), r.run('test.overlap'), sleep(250)]);
    await r.close();
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect((await statusOf(r, 'test.overlap'))?.totalRuns).toBe(runs);
  });

  it('[X8] run(name) runs the job now and waits for it; an unknown name is refused', async () => {
    const r = runner();
    let done = false;
    r.every('test.now', 3_600_000, async () => {
      await sleep(30);
      done = true;
    });
    await r.start();
    await r.run('test.now');
    expect(done).toBe(true);
    await expect(r.run('test.nothing')).rejects.toThrow(/no scheduled job named "test.nothing"/);
  });

  it('[X8] a failure is recorded with its message, counted, and cleared by the next success', async () => {
    const r = runner();
    let fail = true;
    r.every('test.fails', 60_000, async () => {
      if (fail) throw new Error('upstream https://admin:hunter2@probe.example/ answered 503');
    });
    await r.start();
    expect(await statusOf(r, 'test.fails')).toMatchObject({ everyMs: 60_000, lastOutcome: null, totalRuns: 0 });

    await expect(r.run('test.fails')).rejects.toThrow(/503/);
    await expect(r.run('test.fails')).rejects.toThrow(/503/);
    const failed = await statusOf(r, 'test.fails');
    expect(failed).toMatchObject({ lastOutcome: 'failed', consecutiveFailures: 2, totalRuns: 2 });
    expect(failed?.lastError).toBe('upstream https://***@probe.example/ answered 503');
    expect(failed?.lastFinishedAt).toEqual(clock.now());

    fail = false;
    clock.advance(60_000);
    await r.run('test.fails');
    expect(await statusOf(r, 'test.fails')).toMatchObject({
      lastOutcome: 'succeeded',
      lastError: null,
      consecutiveFailures: 0,
      totalRuns: 3,
      lastStartedAt: clock.now(),
    });
  });

  it('[L3] what is kept of an error is one line of its message, cut short', () => {
    const err = new Error(`first\nsecond ${'x'.repeat(600)}`);
    const kept = errorMessage(err);
    expect(kept.startsWith('first second x')).toBe(true);
    expect(kept).toHaveLength(500);
    expect(kept).not.toContain('\n');
    expect(kept).not.toContain('at '); // no stack
    expect(errorMessage('plain')).toBe('plain');
  });

  it('[X8] close waits for a run in flight, and no timer fires after it', async () => {
    const r = runner(true);
    let finished = 0;
    let started = 0;
    r.every('test.close', 20, async () => {
      started++;
      await sleep(80);
      finished++;
    });
    await r.start();
    await sleep(40); // the first tick has started a run
    expect(started).toBe(1);
    await r.close();
    expect(finished).toBe(1);
    await sleep(60);
    expect(started).toBe(1);
  });

  it('[X8] a job is defined once', () => {
    const r = runner();
    r.every('test.twice', 1000, async () => {});
    expect(() => r.every('test.twice', 1000, async () => {})).toThrow(/defined twice/);
  });
});

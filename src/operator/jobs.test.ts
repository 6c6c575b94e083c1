import { afterAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { createTestApp } from '../../test/helpers/app.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { defineFeature } from '../feature.js';
import { FEATURES } from '../features.js';
import { systemClock } from '../platform/clock.js';
import { createOperatorTokens } from './index.js';

let fail = true;
let runs = 0;
// A job of its own beside the features' jobs: it fails until the test lets it succeed.
const flaky = defineFeature({
  name: 'flaky',
  title: 'A flaky job',
  setup({ platform }) {
    platform.schedule.every('test.flaky', 90_000, async () => {
      runs++;
      if (fail) throw new Error('probe https://ops:s3cret@status.example/ timed out');
    });
  },
});

const t = await createTestApp({}, undefined, { features: [...FEATURES, flaky] });
afterAll(() => t.close());
const people = accounts(t);
const token = (await createOperatorTokens({ db: t.db, clock: systemClock }).create('jobs-test')).token;
const api = (auth?: string) =>
  t.app.inject({
    method: 'GET',
    url: '/api/v1/operator/jobs',
    headers: auth ? { authorization: `Bearer ${auth}` } : {},
  });
const row = (html: string, name: string) => new RegExp(`<tr id="job-${name}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';

describe('the jobs page of the operator console', () => {
  it('[X8] job runs are visible: an operator sees every job and the last error, without its secret', async () => {
    await expect(t.runJob('test.flaky')).rejects.toThrow(/timed out/);
    const { client } = await operatorClient(t);
    const page = await client.page('/operator/jobs');
    expect(page.statusCode).toBe(200);
    for (const name of ['trust.checks', 'status.probes', 'incidents.deadlines', 'disclosure.deadlines', 'test.flaky'])
      expect(page.body).toContain(`<tr id="job-${name}">`);
    const flakyRow = row(page.body, 'test.flaky');
    expect(flakyRow).toContain('<td>90 s</td>');
    expect(flakyRow).toContain('Failed');
    expect(flakyRow).toContain('probe https://***@status.example/ timed out');
    expect(page.body).not.toContain('s3cret');
    expect(row(page.body, 'trust.checks')).toContain('Never');
  });

  it('[X7] an account not granted the console is refused the page and Run now', async () => {
    const other = await people.signedIn(await people.verified());
    expect((await other.page('/operator/jobs')).statusCode).toBe(403);
    const before = runs;
    expect((await other.form('/operator/jobs/test.flaky/run', {})).statusCode).toBe(403);
    expect(runs).toBe(before);
  });

  it('[R1] Run now without the CSRF token is refused; with it the job runs, is audited, clears the error', async () => {
    const { client, email } = await operatorClient(t);
    const before = runs;
    const forged = await client.request({
      method: 'POST',
      url: '/operator/jobs/test.flaky/run',
      form: {},
      headers: { accept: 'text/html' },
    });
    expect(forged.statusCode).toBe(403);
    expect(runs).toBe(before);

    const failing = await client.form('/operator/jobs/test.flaky/run', {});
    expect(failing.statusCode).toBe(303);
    expect(failing.headers.location).toBe('/operator/jobs?done=failed');
    expect(runs).toBe(before + 1);

    fail = false;
    const ran = await client.form('/operator/jobs/test.flaky/run', {});
    expect(ran.headers.location).toBe('/operator/jobs?done=ran');
    const page = await client.page('/operator/jobs?done=ran');
    expect(page.body).toContain('The job ran.');
    const flakyRow = row(page.body, 'test.flaky');
    expect(flakyRow).toContain('Succeeded');
    expect(flakyRow).not.toContain('timed out');

    const audit = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select(['actor', 'target']).where('action', '=', 'operator.job_run').execute(),
    );
    expect(audit).toContainEqual({ actor: `operator:${email}`, target: 'test.flaky' });

    const unknown = await client.form('/operator/jobs/no.such-job/run', {});
    expect(unknown.statusCode).toBe(404);
  });

  it('[X8] GET /api/v1/operator/jobs lists the jobs with their last run, for operator tokens only', async () => {
    expect((await api()).statusCode).toBe(401);
    expect((await api('rop_wrong')).statusCode).toBe(401);
    fail = true;
    await expect(t.runJob('test.flaky')).rejects.toThrow();
    const res = await api(token);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.runner).toBe('in-process');
    expect(body.jobs.find((j: { name: string }) => j.name === 'test.flaky')).toMatchObject({
      everyMs: 90_000,
      lastOutcome: 'failed',
      lastError: 'probe https://***@status.example/ timed out',
      consecutiveFailures: 1,
      lastStartedAt: t.clock.now().toISOString(),
    });
    expect(body.jobs.map((j: { name: string }) => j.name)).toContain('trust.checks');
  });
});

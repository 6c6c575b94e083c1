import { afterAll, describe, expect, it } from 'vitest';
import { captureContext, createTestApp } from '../../test/helpers/app.js';
import type { TrustProbe } from '../feature.js';
import { FEATURES } from '../features.js';
import { statusFeature } from './index.js';
import { TestClient } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';

// Keeps the context, to run the status feature's trust checks as the trust page will.
const { feature: capture, ctx } = captureContext();
const t = await createTestApp({}, undefined, { features: [...FEATURES, capture] });
afterAll(() => t.close());
const { client: op } = await operatorClient(t);
const status = () => t.app.inject({ method: 'GET', url: '/status', headers: { accept: 'text/html' } });
const days = (component: string) =>
  t.db.withSystem((tx) => tx.selectFrom('status_days').selectAll().where('component_id', '=', component).execute());
const minute = async () => {
  t.clock.advance(60_000);
  await t.runJob('status.probes');
};

describe('status components (console)', () => {
  it('[X2] an operator adds, renames, describes, orders, sets the state of, removes components (audited)', async () => {
    const bad = await op.form('/operator/status/components', {
      id: 'Bad Id!',
      name: 'x'.repeat(81),
      description: 'one\u0007two',
      state: 'on-fire',
    });
    expect(bad.statusCode).toBe(400);
    for (const field of ['id', 'name', 'description', 'state']) expect(bad.body).toContain(`id="field-${field}-error"`);

    for (const [id, name] of [
      ['api', 'API'],
      ['web', 'Web app'],
      ['mail', 'E-mail'],
    ] as const) {
      const res = await op.form('/operator/status/components', { id, name, description: '', state: 'operational' });
      expect(res.statusCode).toBe(303);
    }
    const taken = await op.form('/operator/status/components', {
      id: 'api2',
      name: 'api',
      description: '',
      state: 'operational',
    });
    expect(taken.statusCode).toBe(409);

    expect((await op.form('/operator/status/components/mail/up', {})).statusCode).toBe(303);
    const changed = await op.form('/operator/status/components/web', {
      name: 'Web application',
      description: 'The dashboard at app.example.com',
      state: 'degraded',
    });
    expect(changed.statusCode).toBe(303);

    const page = await status();
    expect(page.statusCode).toBe(200);
    const order = ['API', 'E-mail', 'Web application'].map((n) => page.body.indexOf(`<h3>${n}</h3>`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(page.body).toContain('Degraded performance');
    expect(page.body).toContain('The dashboard at app.example.com');
    expect(page.body).toContain('Minor Service Outage');

    const summaryRes = await t.app.inject({ url: '/status/summary.json' });
    expect(summaryRes.headers['content-type']).toBe('application/json; charset=utf-8');
    expect((await t.app.inject({ url: '/status/api/v2/summary.json' })).body).toBe(summaryRes.body);
    const summary = summaryRes.json();
    expect(summary.components.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['api', 'operational'],
      ['mail', 'operational'],
      ['web', 'degraded_performance'],
    ]);

    expect((await op.form('/operator/status/components/mail/remove', {})).statusCode).toBe(303);
    expect((await status()).body).not.toContain('<h3>E-mail</h3>');
    expect((await op.form('/operator/status/components/mail/remove', {})).statusCode).toBe(404);

    const actions = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('action').where('action', 'like', 'status.component_%').execute(),
    );
    expect(new Set(actions.map((a) => a.action))).toEqual(
      new Set(['status.component_added', 'status.component_changed', 'status.component_removed']),
    );
  });

  it('[X2] the console is for operators only; the public page needs no account', async () => {
    const stranger = new TestClient(t.app);
    expect((await stranger.page('/operator/status')).headers.location).toMatch(/^\/signin/);
    expect((await stranger.page('/status')).statusCode).toBe(200);
    const posted = await stranger.form('/operator/status/components', {
      id: 'x',
      name: 'X',
      description: '',
      state: 'operational',
    });
    expect(posted.headers.location).toMatch(/^\/signin/);
    expect(
      (await t.db.withSystem((tx) => tx.selectFrom('status_components').select('id').execute())).map((r) => r.id),
    ).not.toContain('x');
  });

  it('[X2] the job records each minute once into the uptime days, in the shown state', async () => {
    await op.form('/operator/status/components', {
      id: 'uptime',
      name: 'Uptime',
      description: '',
      state: 'operational',
    });
    await minute();
    await t.runJob('status.probes'); // the same minute again: counted once
    const first = (await days('uptime')).reduce((n, d) => n + d.observed, 0);
    expect(first).toBeGreaterThanOrEqual(1);
    await op.form('/operator/status/components/uptime', { name: 'Uptime', description: '', state: 'major_outage' });
    await minute();
    await minute();
    await op.form('/operator/status/components/uptime', { name: 'Uptime', description: '', state: 'maintenance' });
    await minute();
    const all = await days('uptime');
    const sum = (k: 'observed' | 'major' | 'maintenance') => all.reduce((n, d) => n + d[k], 0);
    expect(sum('observed')).toBe(first + 3);
    expect(sum('major')).toBe(2);
    expect(sum('maintenance')).toBe(1);
    const page = (await status()).body;
    expect(page).toMatch(/<title>\d{4}-\d\d-\d\d: [\d.]+% uptime \([^)]*2 major outage[^)]*1 maintenance\)<\/title>/);
    expect(page).toContain('no data (not observed)');
    expect(page).toContain('observed minutes − maintenance minutes');
  });

  it('[X2] two instances on one database record a minute once', async () => {
    const other = await createTestApp({}, undefined, { db: t.db, sameDeploymentAs: t });
    try {
      other.clock.set(t.clock.now());
      t.clock.advance(60_000);
      other.clock.set(t.clock.now());
      const before = (await days('uptime')).reduce((n, d) => n + d.observed, 0);
      await Promise.all([t.runJob('status.probes'), other.runJob('status.probes')]);
      expect((await days('uptime')).reduce((n, d) => n + d.observed, 0)).toBe(before + 1);
    } finally {
      await other.close();
    }
  });
});

async function declare(fields: Record<string, string>): Promise<string> {
  const res = await op.form('/operator/incidents', {
    kind: 'incident',
    severity: 'high',
    impact: 'major_outage',
    public: 'on',
    firstUpdatePublic: 'on',
    ...fields,
  });
  expect(res.statusCode).toBe(303);
  return /\/operator\/incidents\/([^?/]+)/.exec(res.headers.location as string)![1]!;
}

describe('public incidents on the status page', () => {
  it('[X2] an open incident sets its components, tops the page, has a page; a long outage owes a report', async () => {
    await op.form('/operator/status/components', {
      id: 'billing',
      name: 'Billing & "invoices" > 1',
      description: '',
      state: 'operational',
    });
    const id = await declare({
      title: 'Billing <down>',
      component: 'billing',
      impact: 'major_outage',
      firstUpdate: 'Payments fail for everyone.',
    });
    const page = (await status()).body;
    expect(page.indexOf('Billing &lt;down>')).toBeGreaterThan(0);
    expect(page.indexOf('Billing &lt;down>')).toBeLessThan(page.indexOf('id="components-heading"'));
    expect(page).toContain('Major System Outage');
    const summary = (await t.app.inject({ url: '/status/summary.json' })).json();
    expect(summary.status.indicator).toBe('critical');
    expect(summary.components.find((c: { id: string }) => c.id === 'billing').status).toBe('major_outage');
    expect(summary.incidents.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
      [id, 'investigating'],
    ]);

    const checks = await trust();
    expect(checks.get('status-page-lists-components')).toMatchObject({ status: 'passing' });
    expect(checks.get('status-outage-reports')).toMatchObject({ status: 'passing' });

    t.clock.advance(45 * 60_000);
    const resolved = await op.form(`/operator/incidents/${id}/resolve`, { resolvedAt: '' });
    expect(resolved.statusCode).toBe(303);
    const incidentPage = await t.app.inject({ url: `/status/incidents/${id}`, headers: { accept: 'text/html' } });
    expect(incidentPage.statusCode).toBe(200);
    expect(incidentPage.body).toContain('Payments fail for everyone.');
    expect(incidentPage.body).toContain('Report due.');
    expect((await status()).body).toContain('Report due');
    expect((await trust()).get('status-outage-reports')).toMatchObject({ status: 'failing' });

    const report = await op.form(`/operator/incidents/${id}/report`, {
      body: 'What happened: a certificate expired.\n\nWhat we changed: alerts 30 days ahead.',
    });
    expect(report.statusCode).toBe(303);
    const reported = await t.app.inject({ url: `/status/incidents/${id}`, headers: { accept: 'text/html' } });
    expect(reported.body).toContain('<p class="status-text">What we changed: alerts 30 days ahead.</p>');
    expect(reported.body).not.toContain('Report due.');
    expect((await trust()).get('status-outage-reports')).toMatchObject({ status: 'passing' });

    const feed = await t.app.inject({ url: '/status/feed.atom' });
    expect(feed.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(feed.body).toContain('<title>Billing &lt;down&gt;: Investigating</title>');

    const missing = await t.app.inject({ url: '/status/incidents/no-such-incident', headers: { accept: 'text/html' } });
    expect(missing.statusCode).toBe(404);
    const odd = await t.app.inject({
      url: '/status/incidents/%E2%80%AE..%2F',
      headers: { accept: 'application/json' },
    });
    expect(odd.statusCode).toBe(400);
  });

  it('[X2] a draft (from a probe) stays off the public page', async () => {
    const drafts = await t.db.withSystem((tx) => tx.selectFrom('incidents').select(['id', 'title']).execute());
    const page = (await status()).body;
    for (const d of drafts.filter((r) => r.title.includes('probe failing'))) expect(page).not.toContain(d.id);
  });
});

async function trust() {
  const out = new Map<string, { status: string; detail: string }>();
  const probe: TrustProbe = {
    async request(path, init) {
      const res = await t.app.inject({ method: (init?.method ?? 'GET') as 'GET', url: path, headers: init?.headers });
      return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
    },
  };
  for (const check of statusFeature.trustChecks(ctx())) out.set(check.id, await check.run(probe));
  return out;
}

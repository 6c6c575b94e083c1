import { describe, expect, it } from 'vitest';
import { createTestApp, fileTestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';

const t = await fileTestApp();
const { client: op } = await operatorClient(t);
const status = () => t.app.inject({ method: 'GET', url: '/status', headers: { accept: 'text/html' } });
const days = (component: string) =>
  t.db.withSystem((tx) => tx.selectFrom('status_days').selectAll().where('component_id', '=', component).execute());
const minute = async () => {
  t.clock.advance(60_000);
  await t.runJob('status.probes');
};

describe('status components (console)', () => {
  it('[X2] an operator adds, renames, describes, orders, sets the state of and removes components; all audited', async () => {
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

    const summary = (await t.app.inject({ url: '/status/summary.json' })).json();
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
    expect((await t.db.withSystem((tx) => tx.selectFrom('status_components').select('id').execute())).map((r) => r.id))
      .not.toContain('x');
  });

  it('[X2] the job records each minute once into the uptime days, in the shown state', async () => {
    await op.form('/operator/status/components', { id: 'uptime', name: 'Uptime', description: '', state: 'operational' });
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

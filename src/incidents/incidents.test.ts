import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { createTestApp, fileTestApp, type TestApp } from '../../test/helpers/app.js';
import type { TestClient } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { orgPeople } from '../../test/helpers/orgs.js';
import { createOperatorTokens } from '../operator/index.js';
import { verifyChain } from '../platform/audit/events.js';
import { incidentTrustChecks } from './checks.js';
import { createIncidentCore } from './service.js';

const t = await fileTestApp();
const HOUR = 3_600_000;
const iso = (d: Date) => d.toISOString().slice(0, 16);
const idIn = (location: string | undefined) => /\/operator\/incidents\/([0-9a-f-]{36})/.exec(location ?? '')![1]!;
/** The service as another instance of this deployment builds it (same database, same clock). */
const instance = (app: TestApp = t) =>
  createIncidentCore({
    db: app.db,
    clock: app.clock,
    onListenerError: (err) => {
      throw err;
    },
  });
const core = instance();
const service = () => core;

/** Declared through the form; an empty field is one the browser leaves out (an unticked checkbox). */
async function declare(op: TestClient, fields: Record<string, string>) {
  const all: Record<string, string> = {
    title: 'Sign-in failing',
    kind: 'incident',
    severity: 'high',
    impact: 'major_outage',
    componentIds: 'api',
    public: 'on',
    ...fields,
  };
  const res = await op.form('/operator/incidents', Object.fromEntries(Object.entries(all).filter(([, v]) => v !== '')));
  expect(res.statusCode, res.body.slice(0, 2000)).toBe(303);
  return idIn(res.headers.location);
}

const row = (id: string) =>
  t.db.withSystem((tx) => tx.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
const actions = (target: string) =>
  t.db.withSystem((tx) =>
    tx.selectFrom('audit_events').select('action').where('target', '=', target).orderBy('seq').execute(),
  );

/** The status page's components the incidents here name (the status feature is the source of component ids). */
async function addComponents(op: TestClient, ids: readonly string[]) {
  for (const id of ids) {
    const res = await op.form('/operator/status/components', { id, name: id, description: '', state: 'operational' });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(303);
  }
}

describe('incidents (X1)', async () => {
  const { client: op } = await operatorClient(t);
  await addComponents(op, ['api', 'search']);

  it('[X1] bad input is refused field by field, never a 500; unknown fields refused', async () => {
    const bad = await op.form('/operator/incidents', {
      title: '',
      kind: 'incident',
      severity: 'urgent',
      impact: 'major_outage',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('id="field-title-error"');
    const future = await op.form('/operator/incidents', {
      title: 'x',
      kind: 'incident',
      severity: 'low',
      impact: 'maintenance',
      componentIds: 'API!!',
      startedAt: iso(new Date(t.clock.now().getTime() + 5 * HOUR)),
      breach: 'on',
      awareAt: '2026-13-45T99:99',
    });
    expect(future.statusCode).toBe(400);
    for (const f of ['impact', 'components', 'startedAt', 'awareAt']) expect(future.body).toContain(`field-${f}-error`);
    const window = await op.form('/operator/incidents', {
      title: 'Upgrade',
      kind: 'maintenance',
      severity: 'low',
      impact: 'maintenance',
      scheduledStart: iso(new Date(t.clock.now().getTime() + 2 * HOUR)),
      scheduledEnd: iso(new Date(t.clock.now().getTime() + HOUR)),
    });
    expect(window.statusCode).toBe(400);
    expect(window.body).toContain('field-scheduledEnd-error');
    const extra = await op.form('/operator/incidents', {
      title: 'x',
      kind: 'incident',
      severity: 'low',
      impact: 'degraded',
      admin: '1',
    });
    expect(extra.statusCode).toBe(400);
    const odd = await op.form('/operator/incidents', {
      title: 'a\u0000b',
      kind: 'incident',
      severity: 'low',
      impact: 'degraded',
    });
    expect(odd.statusCode).toBe(400);
  });

  it('[X1] the response target counts from declaration; overdue is flagged until the first response', async () => {
    const id = await declare(op, { severity: 'high', title: 'Queue backlog' });
    const r = await row(id);
    expect(r.respond_by!.getTime() - r.declared_at.getTime()).toBe(4 * HOUR);
    t.clock.advance(4 * HOUR + 60_000);
    expect((await op.page(`/operator/incidents/${id}`)).body).toContain('Response overdue');
    expect((await op.form(`/operator/incidents/${id}/updates`, { message: 'Looking into it' })).statusCode).toBe(303);
    expect((await op.page(`/operator/incidents/${id}`)).body).not.toContain('Response overdue');
  });

  it('[X1] the operator sets the targets (stored, audited); out of range refused', async () => {
    expect(
      (await op.form('/operator/incidents/targets', { critical: '0', high: '999999', medium: '1', low: '1' }))
        .statusCode,
    ).toBe(400);
    const ok = await op.form('/operator/incidents/targets', { critical: '5', high: '60', medium: '600', low: '6000' });
    expect(ok.statusCode).toBe(303);
    const id = await declare(op, { severity: 'high' });
    const r = await row(id);
    expect(r.respond_by!.getTime() - r.declared_at.getTime()).toBe(60 * 60_000);
    expect(await actions('incident_targets')).toEqual([{ action: 'incident.targets_changed' }]);
    await op.form('/operator/incidents/targets', { critical: '0', high: '240', medium: '1440', low: '4320' });
  });

  it('[X1] phases move forward only, each with its time, each change audited in the system chain', async () => {
    const id = await declare(op, { impact: 'degraded' });
    expect((await op.form(`/operator/incidents/${id}/phase`, { phase: 'contain' })).statusCode).toBe(303);
    t.clock.advance(60_000);
    expect(
      (
        await op.form(`/operator/incidents/${id}/phase`, {
          phase: 'eradicate',
          phaseMessage: 'Cause found',
          public: 'on',
        })
      ).statusCode,
    ).toBe(303);
    const back = await op.form(`/operator/incidents/${id}/phase`, { phase: 'contain' });
    expect(back.statusCode).toBe(409);
    expect(back.body).toContain('moves forward');
    const r = await row(id);
    expect(r.phase).toBe('eradicate');
    expect(r.contain_at).not.toBeNull();
    expect(r.eradicate_at!.getTime()).toBeGreaterThan(r.contain_at!.getTime());
    expect((await actions(`incident:${id}`)).map((a) => a.action)).toEqual([
      'incident.declared',
      'incident.phase_changed',
      'incident.phase_changed',
      'incident.updated',
    ]);
    const verdict = await t.db.withSystem((tx) => verifyChain(tx, 'system'));
    expect(verdict.ok).toBe(true);
    const pub = await service().publicIncident(id);
    expect(pub?.updates.map((u) => u.message)).toEqual(['Cause found']);
  });

  it('[X2] closing an outage longer than 30 minutes is refused until its public report is written', async () => {
    const started = new Date(t.clock.now().getTime() - 2 * HOUR);
    const id = await declare(op, { startedAt: iso(started) });
    const early = await op.form(`/operator/incidents/${id}/phase`, { phase: 'closed' });
    expect(early.statusCode).toBe(409);
    expect(early.body).toContain('Record when service was restored');
    expect((await op.form(`/operator/incidents/${id}/resolve`, {})).statusCode).toBe(303);
    expect((await service().publicIncident(id))?.reportDue).toBe(true);
    const refused = await op.form(`/operator/incidents/${id}/phase`, { phase: 'closed' });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('publish the written public report');
    expect((await row(id)).closed_at).toBeNull();
    expect((await op.form(`/operator/incidents/${id}/report`, { body: 'What happened: ...' })).statusCode).toBe(303);
    expect((await op.form(`/operator/incidents/${id}/phase`, { phase: 'closed' })).statusCode).toBe(303);
    const pub = await service().publicIncident(id);
    expect(pub).toMatchObject({ phase: 'closed', reportDue: false, report: { body: 'What happened: ...' } });
  });

  it('[X2] public incidents: drafts and internal ones are not listed; listeners hear of public updates', async () => {
    const heard: string[] = [];
    service().onPublicUpdate((i) => heard.push(`${i.id}:${i.updates.length}`));
    const internal = await declare(op, { public: '', componentIds: '' });
    const pub = await declare(op, {});
    await op.form(`/operator/incidents/${pub}/updates`, { message: 'Fixed soon', public: 'on' });
    const viaService = await service().declare(
      {
        title: 'Slow search',
        kind: 'incident',
        severity: 'low',
        impact: 'degraded',
        components: ['search'],
        public: true,
        firstUpdate: { message: 'Investigating', public: true },
      },
      { name: 'ops@example.com' },
    );
    expect(heard).toEqual([`${viaService.id}:1`]);
    await service().addUpdate(internal, { message: 'internal note', public: false }, { name: 'ops@example.com' });
    expect(heard).toHaveLength(1);
    const draft = await service().openDraftFromProbe({ component: 'db', title: 'DB down', detail: 'timeout' });
    const list = await service().publicIncidents({ since: new Date(t.clock.now().getTime() - HOUR) });
    const ids = list.map((i) => i.id);
    expect(ids).toContain(pub);
    expect(ids).not.toContain(internal);
    expect(ids).not.toContain(draft.id);
    expect(await service().publicIncident(draft.id)).toBeUndefined();
    expect(await service().publicIncident('not-a-uuid')).toBeUndefined();
    expect((await service().publicIncident(pub))?.updates.map((u) => u.message)).toEqual(['Fixed soon']);
    const refused = await op.form(`/operator/incidents/${internal}/updates`, { message: 'x', public: 'on' });
    expect(refused.statusCode).toBe(409);
  });

  it('[X2] a failing probe opens one draft per component, also from two instances; confirm publishes it', async () => {
    const other = instance();
    const input = { component: `probe-${Date.now()}`, title: 'API down', detail: 'HTTP 503' };
    const [a, b] = await Promise.all([service().openDraftFromProbe(input), other.openDraftFromProbe(input)]);
    expect(a.id).toBe(b.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect((await service().openDraftFromProbe(input)).created).toBe(false);
    expect((await op.page('/operator/incidents')).body).toContain('Draft: confirm or dismiss');
    expect((await op.form(`/operator/incidents/${a.id}/confirm`, {})).statusCode).toBe(303);
    expect((await service().publicIncident(a.id))?.components).toEqual([input.component]);
    const next = await service().openDraftFromProbe(input);
    expect(next.created).toBe(true);
  });
});

describe('personal-data breaches (X1)', async () => {
  const { client: op, email: opEmail } = await operatorClient(t);
  const { person, join } = orgPeople(t);

  it('[X1] deadlines count from aware_at; a late notification needs a reason (Art. 33(1))', async () => {
    const aware = new Date(t.clock.now().getTime() - 80 * HOUR);
    const id = await declare(op, {
      breach: 'on',
      awareAt: iso(aware),
      regulatorRequired: 'on',
      public: '',
      componentIds: '',
    });
    const page = await op.page(`/operator/incidents/${id}`);
    expect(page.body).toContain('Overdue: Notify affected customers');
    expect(page.body).toContain('Overdue: Notify the supervisory authority');
    const late = await op.form(`/operator/incidents/${id}/notifications/regulator`, {});
    expect(late.statusCode).toBe(400);
    expect(late.body).toContain('field-lateReason-regulator-error');
    expect((await row(id)).regulator_notified_at).toBeNull();
    const ok = await op.form(`/operator/incidents/${id}/notifications/regulator`, {
      'lateReason-regulator': 'The scope was only known on day 3.',
    });
    expect(ok.statusCode).toBe(303);
    expect((await row(id)).regulator_late_reason).toBe('The scope was only known on day 3.');
    expect((await op.form(`/operator/incidents/${id}/notifications/regulator`, {})).statusCode).toBe(409);
    const onTime = await op.form(`/operator/incidents/${id}/notifications/report`, {});
    expect(onTime.statusCode).toBe(303); // within 7 days: no reason needed
    const before = await op.form(`/operator/incidents/${id}/notifications/customers`, {
      'notifiedAt-customers': iso(new Date(aware.getTime() - HOUR)),
    });
    expect(before.statusCode).toBe(400);
  });

  it('[X1] an overdue deadline mails once to console accounts and the contact, two runs, two instances', async () => {
    const contact = `security.${Date.now()}@acme.example`;
    const settings = await op.form('/operator/settings', {
      productName: 'Acme',
      securityContact: contact,
      policyUrl: '',
      policyText: '',
      preferredLanguages: 'en',
    });
    expect(settings.statusCode).toBe(303);
    const aware = new Date(t.clock.now().getTime() - 73 * HOUR);
    const id = await declare(op, {
      breach: 'on',
      awareAt: iso(aware),
      public: '',
      componentIds: '',
      title: 'Leaked export',
    });
    const other = await createTestApp({}, undefined, { db: t.db, sameDeploymentAs: t });
    try {
      await Promise.all([
        t.runJob('incidents.deadlines'),
        other.runJob('incidents.deadlines'),
        t.runJob('incidents.deadlines'),
      ]);
    } finally {
      await other.close();
    }
    await t.mailTo(opEmail, /Overdue breach deadline: Leaked export/);
    const mails = (await t.mailbox.list(500)).filter((m) => m.to === opEmail && m.subject.includes('Leaked export'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`/operator/incidents/${id}`);
    await t.mailTo(contact, /Overdue breach deadline: Leaked export/);
    const toContact = (await t.mailbox.list(500)).filter(
      (m) => m.to === contact && m.subject.includes('Leaked export'),
    );
    expect(toContact).toHaveLength(1);
    expect((await actions(`incident:${id}`)).filter((a) => a.action === 'incident.deadline_mailed')).toHaveLength(1);
  });

  it("[X1] affected organizations get a notice and their owners a mail; org B never sees org A's notice", async () => {
    const ownerA = await person();
    const ownerB = await person();
    const orgA = (await ownerA.client.api('POST', '/api/v1/orgs', { name: 'Alpha' })).json().id as string;
    const orgB = (await ownerB.client.api('POST', '/api/v1/orgs', { name: 'Beta' })).json().id as string;
    const viewer = await join(ownerA.client, orgA, 'viewer');
    const id = await declare(op, { breach: 'on', public: '', componentIds: '', title: 'Backup bucket exposed' });
    const bad = await op.form(`/operator/incidents/${id}/notify-orgs`, {
      orgIds: 'nope\n00000000-0000-4000-8000-000000000000',
      notice: 'x',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('No such organization');
    const res = await op.form(`/operator/incidents/${id}/notify-orgs`, {
      orgIds: orgA,
      notice: 'Your exported reports were exposed.',
    });
    expect(res.statusCode).toBe(303);
    const mail = await t.mailTo(ownerA.email, /Security notice: Backup bucket exposed/);
    expect(mail.text).toContain(`/orgs/${orgA}/security-notices`);
    const seen = await viewer.client.page(`/orgs/${orgA}/security-notices`);
    expect(seen.statusCode).toBe(200);
    expect(seen.body).toContain('Your exported reports were exposed.');
    const own = await ownerB.client.page(`/orgs/${orgB}/security-notices`);
    expect(own.body).not.toContain('Backup bucket exposed');
    expect((await ownerB.client.page(`/orgs/${orgA}/security-notices`)).statusCode).toBe(404);
    const tenantB = await t.db.withTenant(orgB, (tx) => tx.selectFrom('security_notices').selectAll().execute());
    expect(tenantB).toEqual([]);
    expect((await row(id)).customers_notified_at).not.toBeNull();
    const register = await op.page('/operator/incidents/breaches.json');
    const entry = register.json().breaches.find((b: { id: string }) => b.id === id);
    expect(entry.affectedOrganizations.map((o: { name: string }) => o.name)).toEqual(['Alpha']);
    const csvRes = await op.page('/operator/incidents/breaches.csv');
    expect(csvRes.headers['content-type']).toContain('text/csv');
    expect(csvRes.body).toContain('Backup bucket exposed');
  });

  it('[X1] the breach register and console refuse people who are not operators', async () => {
    const outsider = await accounts(t).signedIn(await accounts(t).verified());
    expect((await outsider.page('/operator/incidents/breaches.csv')).statusCode).toBe(403);
    expect(
      (
        await outsider.form('/operator/incidents', {
          title: 'x',
          kind: 'incident',
          severity: 'low',
          impact: 'degraded',
        })
      ).statusCode,
    ).toBe(403);
  });
});

describe('operator API (X1)', () => {
  it('[X1] operator tokens declare and read incidents; bad input and missing tokens are refused', async () => {
    const { token } = await createOperatorTokens({ db: t.db, clock: t.clock }).create(`incidents-${Date.now()}`);
    const call = (method: 'GET' | 'POST', url: string, payload?: unknown, bearer = token) =>
      t.app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${bearer}` } });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/operator/incidents' })).statusCode).toBe(401);
    const body = {
      title: 'Token endpoint errors',
      kind: 'incident',
      severity: 'medium',
      impact: 'partial_outage',
      components: ['api'],
      public: true,
      breach: { awareAt: new Date(t.clock.now().getTime() - 100 * HOUR).toISOString(), regulatorRequired: false },
    };
    const bad = await call('POST', '/api/v1/operator/incidents', { ...body, severity: 'sev1', extra: true });
    expect(bad.statusCode).toBe(400);
    const future = await call('POST', '/api/v1/operator/incidents', {
      ...body,
      startedAt: new Date(t.clock.now().getTime() + 10 * HOUR).toISOString(),
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().error.code).toBe('incident_invalid');
    const made = await call('POST', '/api/v1/operator/incidents', body);
    expect(made.statusCode, made.body).toBe(201);
    const { incident } = made.json();
    expect(incident.deadlines.map((d: { deadline: string; overdue: boolean }) => [d.deadline, d.overdue])).toEqual([
      ['customers', true],
      ['report', false],
    ]);
    const read = await call('GET', `/api/v1/operator/incidents/${incident.id}`);
    expect(read.json().incident.respondBy).toBe(incident.respondBy);
    expect((await call('GET', '/api/v1/operator/incidents/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    const list = (await call('GET', '/api/v1/operator/incidents')).json().incidents;
    expect(list.map((i: { id: string }) => i.id)).toContain(incident.id);
    const register = (await call('GET', '/api/v1/operator/incidents/breaches')).json().breaches;
    expect(register.map((b: { id: string }) => b.id)).toContain(incident.id);
    expect((await call('GET', '/api/v1/operator/incidents', undefined, 'rop_nope')).statusCode).toBe(401);
  });
});

describe('trust checks (X1, X2)', () => {
  it('[X1] the deadline check fails naming the overdue breach, the response check names late incidents', async () => {
    const checks = await trustChecks(t);
    const deadline = await checks
      .get('incident-breach-deadlines')!
      .run({ request: async () => ({ status: 0, headers: {}, body: '' }) });
    expect(deadline.status).toBe('failing');
    expect(deadline.detail).toContain('Leaked export');
    const report = await checks
      .get('incident-report-published')!
      .run({ request: async () => ({ status: 0, headers: {}, body: '' }) });
    expect(report.status).toBe('passing');
  });

  it('[X1] on a deployment with no incidents the checks say so honestly', async () => {
    const fresh = await createTestApp();
    try {
      const checks = await trustChecks(fresh);
      const probe = { request: async () => ({ status: 0, headers: {}, body: '' }) };
      expect((await checks.get('incident-breach-deadlines')!.run(probe)).status).toBe('passing');
      expect((await checks.get('incident-outage-reports')!.run(probe)).status).toBe('not_configured');
      expect((await checks.get('incident-report-published')!.run(probe)).status).toBe('not_configured');
    } finally {
      await fresh.close();
    }
  });
});

async function trustChecks(app: TestApp) {
  const c = instance(app);
  return new Map(incidentTrustChecks({ list: c.list, clock: app.clock }).map((check) => [check.id, check]));
}

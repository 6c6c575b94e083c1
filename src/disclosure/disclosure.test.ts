import { describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { createTestApp, fileTestApp, type TestApp } from '../../test/helpers/app.js';
import { TestClient, linkIn } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { createFeatureContext, type Platform, type TrustProbe } from '../feature.js';
import { createOperatorConsole } from '../operator/index.js';
import { addBusinessDays } from './business-days.js';
import { disclosureFeature } from './index.js';
import { securityTxt, validateSecurityTxt } from './security-txt.js';

const t = await fileTestApp();
const operatorConsole = (app: TestApp) => createOperatorConsole({ db: app.db, clock: app.clock });

async function setContact(app: TestApp, contact: string | null) {
  await operatorConsole(app).saveSettings(
    {
      productName: 'Acme Cloud',
      securityContact: contact,
      policyUrl: null,
      policyText: null,
      preferredLanguages: 'en, de',
    },
    { name: 'test' },
  );
}

/** Opens the report form as a browser does: its CSRF field and its signed form token. */
async function openForm(client: TestClient) {
  const page = await client.page('/security/report');
  expect(page.statusCode).toBe(200);
  return {
    csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!,
    formToken: /name="formToken" value="([^"]+)"/.exec(page.body)![1]!,
  };
}

const goodReport = (email: string, extra: Record<string, string> = {}) => ({
  summary: 'Stored XSS in the invitation page',
  details: 'The organization name is rendered unescaped on /orgs/invite. Steps: create an org named <img onerror>.',
  affected: '/orgs/invite',
  email,
  name: 'Ada Reporter',
  website: '',
  ...extra,
});

async function send(client: TestClient, app: TestApp, fields: Record<string, string>, wait = 5_000) {
  const form = await openForm(client);
  app.clock.advance(wait);
  return client.request({
    method: 'POST',
    url: '/security/report',
    form: { formToken: form.formToken, _csrf: form.csrf, ...fields },
    headers: { accept: 'text/html' },
  });
}

const countReports = (app: TestApp, summary: string) =>
  app.db.withSystem(async (tx) =>
    Number(
      (
        await tx
          .selectFrom('disclosure_reports')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('summary', '=', summary)
          .executeTakeFirstOrThrow()
      ).n,
    ),
  );

/** The feature's trust checks, on its own service built over this app's database and clock. */
function checksOf(app: TestApp) {
  const ctx = createFeatureContext({ config: app.config, ...realPlatform(app) } as Platform, []);
  ctx.provide('operator', { console: operatorConsole(app) } as never);
  disclosureFeature.setup!(ctx);
  return disclosureFeature.trustChecks!(ctx);
}

function realPlatform(app: TestApp): Partial<Platform> {
  return {
    db: app.db,
    clock: app.clock,
    limits: app.limits,
    mailer: app.mailbox,
    background: { run: () => undefined, drain: async () => undefined },
    logger: { warn: () => undefined } as never,
    subkey: () => Buffer.alloc(32, 1),
    schedule: { every: () => undefined, run: async () => undefined, close: async () => undefined },
    overrides: {},
  };
}

const probeOf =
  (app: TestApp, rewrite?: (body: string) => string): TrustProbe['request'] =>
  async (path) => {
    const res = await app.app.inject({ method: 'GET', url: path });
    const body = rewrite ? rewrite(res.body) : res.body;
    return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, body };
  };

describe('security.txt (RFC 9116)', () => {
  const now = new Date('2026-12-03T06:00:00Z');
  const canonical = 'https://rampart.example/.well-known/security.txt';
  const good = securityTxt({
    baseUrl: 'https://rampart.example',
    productName: 'Acme',
    securityContact: 'security@acme.example',
    policyUrl: null,
    preferredLanguages: 'en, de',
    now,
  });

  it('[X3] the file Rampart writes passes the validator; Expires is the first of the month after next', () => {
    const verdict = validateSecurityTxt(good, { now, canonical });
    expect(verdict.problems).toEqual([]);
    expect(verdict.fields).toContainEqual({ name: 'expires', value: '2027-02-01T00:00:00Z' });
    expect(verdict.fields.filter((f) => f.name === 'contact').map((f) => f.value)).toEqual([
      'mailto:security@acme.example',
      'https://rampart.example/security/report',
    ]);
    // Renewed by itself: read on the last day of any month, it is still more than a month ahead and under a year.
    for (const at of ['2026-12-31T23:59:59Z', '2027-01-31T23:59:59Z', '2027-11-30T12:00:00Z']) {
      const renewed = securityTxt({
        ...{ baseUrl: 'https://rampart.example', productName: 'A' },
        securityContact: null,
        policyUrl: null,
        preferredLanguages: 'en',
        now: new Date(at),
      });
      expect(validateSecurityTxt(renewed, { now: new Date(at), canonical }).problems).toEqual([]);
    }
  });

  it('[X3] the validator fails an expired, a far-off, a malformed or an incomplete file', () => {
    const fails = (text: string, expected: RegExp, at = now) => {
      const verdict = validateSecurityTxt(text, { now: at, canonical });
      expect(verdict.ok).toBe(false);
      expect(verdict.problems.join('\n')).toMatch(expected);
    };
    fails(good, /expires: .* is in the past/, new Date('2027-02-01T00:00:00Z'));
    fails(good.replace(/Expires: .*/, 'Expires: 2028-06-01T00:00:00Z'), /a year or more ahead/);
    fails(good.replace(/Expires: .*/, 'Expires: next month'), /not an RFC 3339 date-time/);
    fails(good.replace(/Expires: .*\n/, ''), /exactly once \(found 0\)/);
    fails(`${good}Expires: 2027-01-01T00:00:00Z\n`, /exactly once \(found 2\)/);
    fails(good.replace(/Contact: .*\n/g, ''), /contact: required/);
    fails(good.replace('mailto:security@acme.example', 'security@acme.example'), /contact: .* not a URI/);
    fails(good.replace('https://rampart.example/security/report', 'http://rampart.example/r'), /https:\/\//);
    fails(`${good}Preferred-Languages: fr\n`, /preferred-languages: must appear at most once/);
    fails(good.replace('en, de', 'en, english language'), /not a language tag/);
    fails(good.replace(canonical, 'https://elsewhere.example/.well-known/security.txt'), /canonical: does not name/);
    fails(`${good}this line is no field\n`, /not a field/);
    fails(good.replace('\nExpires', '\rExpires'), /bare CR/);
    fails(good.slice(0, -1), /last line has no line ending/);
    fails('', /empty/);
    // CRLF line endings are the RFC's too.
    expect(validateSecurityTxt(good.replaceAll('\n', '\r\n'), { now, canonical }).problems).toEqual([]);
  });

  it('[X3] served as text/plain at /.well-known/security.txt (and /security.txt), valid here', async () => {
    await setContact(t, 'https://acme.example/security');
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const canonicalHere = `${t.config.baseUrl}/.well-known/security.txt`;
    expect(validateSecurityTxt(res.body, { now: t.clock.now(), canonical: canonicalHere }).problems).toEqual([]);
    expect(res.body).toContain('Contact: https://acme.example/security\n');
    expect(res.body).toContain(`Policy: ${t.config.baseUrl}/security/policy\n`);
    const legacy = await t.app.inject({ method: 'GET', url: '/security.txt' });
    expect(legacy.statusCode).toBe(301);
    expect(legacy.headers.location).toBe('/.well-known/security.txt');
    expect((await t.app.inject({ method: 'GET', url: '/.well-known/security.txt?x=1' })).statusCode).toBe(400);
  });

  it('[X3] trust check: not configured without a contact, passing when valid, failing when expired', async () => {
    const app = await createTestApp();
    try {
      const check = checksOf(app).find((c) => c.id === 'security-txt')!;
      expect((await check.run({ request: probeOf(app) })).status).toBe('not_configured');
      await setContact(app, 'security@acme.example');
      const passing = await check.run({ request: probeOf(app) });
      expect(passing).toMatchObject({ status: 'passing' });
      expect(passing.detail).toContain('security@acme.example');
      const expired = await check.run({
        request: probeOf(app, (b) => b.replace(/Expires: .*/, 'Expires: 2020-01-01T00:00:00Z')),
      });
      expect(expired.status).toBe('failing');
      expect(expired.detail).toMatch(/in the past/);
      const missing = await check.run({ request: async () => ({ status: 404, headers: {}, body: 'Not found' }) });
      expect(missing).toMatchObject({ status: 'failing', detail: expect.stringContaining('404') });
    } finally {
      await app.close();
    }
  });
});

describe('business days', () => {
  it('[X3] a Friday report is due on Tuesday; weekends are skipped; times are UTC', () => {
    expect(addBusinessDays(new Date('2026-12-04T15:00:00Z'), 2).toISOString()).toBe('2026-12-08T15:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-07T09:30:00Z'), 2).toISOString()).toBe('2026-12-09T09:30:00.000Z');
    // A weekend arrival counts from Monday 00:00 UTC.
    expect(addBusinessDays(new Date('2026-12-05T10:00:00Z'), 2).toISOString()).toBe('2026-12-09T00:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-06T23:59:00Z'), 1).toISOString()).toBe('2026-12-08T00:00:00.000Z');
    expect(addBusinessDays(new Date('2026-12-02T12:00:00Z'), 5).toISOString()).toBe('2026-12-09T12:00:00.000Z');
    // Holidays are not known: Christmas Day (a Friday) counts as a business day.
    expect(addBusinessDays(new Date('2026-12-24T12:00:00Z'), 2).toISOString()).toBe('2026-12-28T12:00:00.000Z');
  });
});

describe('report intake', () => {
  it('[X3] a report is taken without an account; the reporter is mailed a reference and a status link', async () => {
    const reporter = new TestClient(t.app);
    const email = freshEmail();
    const res = await send(reporter, t, goodReport(email, { summary: 'Intake works', credit: 'yes' }));
    expect(res.statusCode).toBe(303);
    const ref = /^\/security\/report\/sent\?ref=(VR-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})$/.exec(
      res.headers.location!,
    )![1]!;
    expect((await reporter.page(res.headers.location!)).body).toContain(ref);
    const mail = await t.mailTo(email, /was received/);
    expect(mail.subject).toBe(`Your security report ${ref} was received`);
    const { url, token } = linkIn(mail.text, '/security/report/status');
    const status = await new TestClient(t.app).page(url.replace(t.config.baseUrl, ''));
    expect(status.statusCode).toBe(200);
    expect(status.body).toContain(ref);
    expect(status.body).toContain('New');

    // Any other token finds nothing: 404, the same for a well-formed guess and for junk.
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [wrong, 'x', '../../etc/passwd'])
      expect((await reporter.page(`/security/report/status?token=${encodeURIComponent(bad)}`)).statusCode).toBe(404);
    expect((await reporter.page('/security/report/status')).statusCode).toBe(400);
    expect(t.logs()).not.toContain(token);

    const audit = await t.db.withSystem((tx) =>
      tx
        .selectFrom('audit_events')
        .select(['payload', 'actor'])
        .where('action', '=', 'disclosure.report_received')
        .execute(),
    );
    expect(audit.some((a) => JSON.stringify(a.payload).includes(ref))).toBe(true);
  });

  it('[X3] a report without the CSRF field, or from another origin, is refused and nothing is stored', async () => {
    const client = new TestClient(t.app);
    const form = await openForm(client);
    t.clock.advance(5_000);
    const fields = { formToken: form.formToken, ...goodReport(freshEmail(), { summary: 'No CSRF' }) };
    const bare = await client.request({ method: 'POST', url: '/security/report', form: fields });
    expect(bare.statusCode).toBe(403);
    const foreign = await client.request({
      method: 'POST',
      url: '/security/report',
      form: { ...fields, _csrf: form.csrf },
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.statusCode).toBe(403);
    expect(await countReports(t, 'No CSRF')).toBe(0);
  });

  it('[X3] a filled honeypot is refused and nothing is stored', async () => {
    const res = await send(
      new TestClient(t.app),
      t,
      goodReport(freshEmail(), { summary: 'Honeypot', website: 'http://spam.example' }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('could not be accepted');
    expect(await countReports(t, 'Honeypot')).toBe(0);
  });

  it('[X3] a form sent back too fast is refused; the same form sent a few seconds later is taken', async () => {
    const client = new TestClient(t.app);
    const form = await openForm(client);
    const post = () =>
      client.request({
        method: 'POST',
        url: '/security/report',
        form: { formToken: form.formToken, _csrf: form.csrf, ...goodReport(freshEmail(), { summary: 'Too fast' }) },
        headers: { accept: 'text/html' },
      });
    t.clock.advance(500);
    const fast = await post();
    expect(fast.statusCode).toBe(400);
    expect(fast.body).toContain('quicker than a person types');
    expect(fast.body).toContain(form.formToken); // kept: it was not spent
    expect(await countReports(t, 'Too fast')).toBe(0);
    t.clock.advance(5_000);
    expect((await post()).statusCode).toBe(303);
    expect(await countReports(t, 'Too fast')).toBe(1);
  });

  it('[X3] a form token is single-use: a replay is refused', async () => {
    const client = new TestClient(t.app);
    const form = await openForm(client);
    t.clock.advance(10_000);
    const post = () =>
      client.request({
        method: 'POST',
        url: '/security/report',
        form: { formToken: form.formToken, _csrf: form.csrf, ...goodReport(freshEmail(), { summary: 'Replayed' }) },
        headers: { accept: 'text/html' },
      });
    expect((await post()).statusCode).toBe(303);
    const replay = await post();
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('already sent');
    expect(replay.body).not.toContain(form.formToken); // a fresh form token instead
    expect(await countReports(t, 'Replayed')).toBe(1);
  });

  it('[X3] an expired, a forged or a missing form token is refused', async () => {
    const client = new TestClient(t.app);
    const form = await openForm(client);
    t.clock.advance(2 * 60 * 60 * 1000 + 1_000);
    const post = (formToken?: string) =>
      client.request({
        method: 'POST',
        url: '/security/report',
        form: {
          ...(formToken ? { formToken } : {}),
          _csrf: form.csrf,
          ...goodReport(freshEmail(), { summary: 'Stale' }),
        },
        headers: { accept: 'text/html' },
      });
    const expired = await post(form.formToken);
    expect(expired.statusCode).toBe(400);
    expect(expired.body).toContain('open too long');
    const fresh = /name="formToken" value="([^"]+)"/.exec(expired.body)![1]!;
    const [issued, nonce] = fresh.split('.');
    t.clock.advance(5_000);
    expect((await post(`${issued}.${nonce}.${'A'.repeat(43)}`)).statusCode).toBe(400);
    // An older issue time under the same signature does not verify either.
    expect((await post(`${Number(issued) - 4000}.${nonce}.${fresh.split('.')[2]}`)).statusCode).toBe(400);
    expect((await post()).statusCode).toBe(400);
    expect(await countReports(t, 'Stale')).toBe(0);
  });

  it('[X3] oversize fields are refused next to the field, nothing stored; a huge body is refused whole', async () => {
    const res = await send(
      new TestClient(t.app),
      t,
      goodReport(freshEmail(), { summary: 'Oversize', details: 'x'.repeat(20_001) }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('id="field-details-error"');
    expect(await countReports(t, 'Oversize')).toBe(0);
    const long = await send(new TestClient(t.app), t, goodReport(freshEmail(), { summary: 'S'.repeat(201) }));
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('id="field-summary-error"');
    const huge = await send(new TestClient(t.app), t, goodReport(freshEmail(), { details: 'y'.repeat(3_000_000) }));
    expect(huge.statusCode).toBe(413);
  });

  it('[X3] odd Unicode: control and text-direction characters are refused; other scripts are kept, NFC', async () => {
    const nul = await send(new TestClient(t.app), t, goodReport(freshEmail(), { summary: 'Null\u0000byte' }));
    expect(nul.statusCode).toBe(400);
    expect(nul.body).toContain('id="field-summary-error"');
    const bidi = await send(
      new TestClient(t.app),
      t,
      goodReport(freshEmail(), { summary: 'Bidi', name: 'Eve\u202Egnp.exe' }),
    );
    expect(bidi.statusCode).toBe(400);
    expect(bidi.body).toContain('id="field-name-error"');
    const trojan = await send(
      new TestClient(t.app),
      t,
      goodReport(freshEmail(), { summary: 'Trojan', details: 'if (a) {\u2066 } // x\u2069 long enough' }),
    );
    expect(trojan.statusCode).toBe(400);
    expect(trojan.body).toContain('id="field-details-error"');
    expect(await countReports(t, 'Bidi')).toBe(0);

    const summary = 'Cafe\u0301 ☕ 漏洞 in the 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 handler';
    const ok = await send(new TestClient(t.app), t, goodReport(freshEmail(), { summary, name: 'Zoë Ünïcode' }));
    expect(ok.statusCode).toBe(303);
    expect(await countReports(t, summary.normalize('NFC'))).toBe(1);
  });

  it('[X3] submissions are rate limited per address', async () => {
    const client = new TestClient(t.app);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await send(client, t, goodReport('not-an-address', { summary: `Limited ${i}` }), 3_100)).statusCode,
      );
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
    expect(statuses[10]).toBe(429);
    const other = await send(new TestClient(t.app), t, goodReport(freshEmail(), { summary: 'Other address' }));
    expect(other.statusCode).toBe(303);
  });
});

describe('handling reports on the console', () => {
  it('[X3] acknowledge (mails the reporter), triage, note, resolve: audited timeline; credit', async () => {
    const { client: op } = await operatorClient(t);
    const email = freshEmail();
    const res = await send(
      new TestClient(t.app),
      t,
      goodReport(email, { summary: 'Console flow', credit: 'yes', creditName: 'Ada L.' }),
    );
    const ref = /ref=(VR-[\w-]+)/.exec(res.headers.location!)![1]!;
    const list = await op.page('/operator/disclosure');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain(ref);
    const id = new RegExp(`href="/operator/disclosure/([0-9a-f-]{36})">${ref}`).exec(list.body)![1]!;
    expect((await op.page(`/operator/disclosure/${id}`)).body).toContain('Due');

    expect((await op.form(`/operator/disclosure/${id}/status`, { status: 'resolved' })).statusCode).toBe(409);
    expect((await op.form(`/operator/disclosure/${id}/status`, { status: 'acknowledged' })).statusCode).toBe(303);
    expect((await t.mailTo(email, /was acknowledged/)).subject).toBe(`Your security report ${ref} was acknowledged`);
    expect((await op.form(`/operator/disclosure/${id}/notes`, { note: 'Reproduced on 1.4.2.' })).statusCode).toBe(303);
    expect((await op.form(`/operator/disclosure/${id}/status`, { status: 'triaging' })).statusCode).toBe(303);
    expect((await t.app.inject({ method: 'GET', url: '/security/thanks' })).body).not.toContain('Ada L.');
    expect((await op.form(`/operator/disclosure/${id}/status`, { status: 'resolved' })).statusCode).toBe(303);

    const page = await op.page(`/operator/disclosure/${id}`);
    expect(page.body).toContain('Reproduced on 1.4.2.');
    expect(page.body).toContain('Acknowledged in time');
    const events = await t.db.withSystem((tx) =>
      tx
        .selectFrom('audit_events')
        .select(['action', 'payload'])
        .where('target', '=', `disclosure_report:${id}`)
        .orderBy('seq')
        .execute(),
    );
    expect(events.map((e) => e.action)).toEqual([
      'disclosure.report_received',
      'disclosure.report_status_changed',
      'disclosure.report_note_added',
      'disclosure.report_status_changed',
      'disclosure.report_status_changed',
    ]);
    expect((await t.app.inject({ method: 'GET', url: '/security/thanks' })).body).toContain('Ada L.');

    // Bad input on the console: a status outside the workflow, an unknown report, a blank note.
    expect((await op.form(`/operator/disclosure/${id}/status`, { status: 'deleted' })).statusCode).toBe(400);
    expect(
      (await op.form('/operator/disclosure/00000000-0000-4000-8000-000000000000/status', { status: 'triaging' }))
        .statusCode,
    ).toBe(404);
    expect((await op.form(`/operator/disclosure/${id}/notes`, { note: '   ' })).statusCode).toBe(400);
    expect((await op.page('/operator/disclosure/not-a-uuid')).statusCode).toBe(400);
  });

  it('[X3] the console is for operators only', async () => {
    const people = accounts(t);
    const someone = await people.signedIn(await people.verified());
    expect((await someone.page('/operator/disclosure')).statusCode).toBe(403);
    expect((await someone.form('/operator/disclosure/settings', { ackBusinessDays: '5' })).statusCode).toBe(403);
  });
});

describe('acknowledgement deadline', () => {
  it('[X3] a missed deadline is flagged and mailed once across job runs; the trust check names the count', async () => {
    const app = await createTestApp();
    try {
      app.clock.set('2026-12-04T15:00:00Z'); // a Friday
      await setContact(app, 'security@acme.example');
      const { client: op, email: opEmail } = await operatorClient(app);
      const check = checksOf(app).find((c) => c.id === 'disclosure-ack-deadline')!;
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: '0' })).statusCode).toBe(400);
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: 'two' })).statusCode).toBe(400);
      expect((await op.form('/operator/disclosure/settings', { ackBusinessDays: '2' })).statusCode).toBe(303);

      const a = await send(new TestClient(app.app), app, goodReport(freshEmail(), { summary: 'Deadline A' }));
      const b = await send(new TestClient(app.app), app, goodReport(freshEmail(), { summary: 'Deadline B' }));
      expect([a.statusCode, b.statusCode]).toEqual([303, 303]);
      const [due] = await app.db.withSystem((tx) =>
        tx
          .selectFrom('disclosure_reports')
          .select(['received_at', 'ack_due_at'])
          .where('summary', '=', 'Deadline A')
          .execute(),
      );
      expect(due!.received_at.getUTCDay()).toBe(5); // Friday, a little after 15:00
      expect(due!.ack_due_at.getUTCDay()).toBe(2); // Tuesday, the same time
      expect(due!.ack_due_at.getTime() - due!.received_at.getTime()).toBe(4 * 24 * 60 * 60 * 1000);

      app.clock.set('2026-12-08T15:00:00Z');
      await app.runJob('disclosure.deadlines');
      expect(await check.run({ request: probeOf(app) })).toMatchObject({ status: 'passing' });

      app.clock.set('2026-12-08T16:00:00Z');
      expect(await check.run({ request: probeOf(app) })).toEqual({
        status: 'failing',
        detail: '2 reports are past the 2-business-day acknowledgement deadline unacknowledged',
      });
      expect((await op.page('/operator/disclosure')).body).toContain('2 reports are past the acknowledgement deadline');
      // Another instance of the deployment runs the same job at the same time: each report is claimed once.
      const other = await createTestApp({}, undefined, { db: app.db, sameDeploymentAs: app });
      other.clock.set(app.clock.now());
      try {
        await Promise.all([app.runJob('disclosure.deadlines'), other.runJob('disclosure.deadlines')]);
        await app.runJob('disclosure.deadlines');
        await other.runJob('disclosure.deadlines');
      } finally {
        await other.close();
      }
      await app.mailTo(opEmail, /missed its acknowledgement deadline/);
      await app.mailTo('security@acme.example', /missed its acknowledgement deadline/);
      await app.app.close().catch(() => undefined); // drains the mail still in flight
      const missed = (await app.mailbox.list(500)).filter((m) => /missed its acknowledgement/.test(m.subject));
      expect(missed.filter((m) => m.to === opEmail)).toHaveLength(2); // one per report
      expect(missed.filter((m) => m.to === 'security@acme.example')).toHaveLength(2);
      const audited = await app.db.withSystem((tx) =>
        tx.selectFrom('audit_events').select('id').where('action', '=', 'disclosure.deadline_missed').execute(),
      );
      expect(audited).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { createTestApp, fileTestApp } from '../../test/helpers/app.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import {
  checksOf,
  countReports,
  goodReport,
  openForm,
  probeOf,
  send,
  setContact,
} from '../../test/helpers/disclosure.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { validateSecurityTxt } from './security-txt.js';

const t = await fileTestApp();

describe('security.txt (RFC 9116) served', () => {
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

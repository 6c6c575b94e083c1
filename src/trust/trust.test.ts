import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, fileTestApp } from '../../test/helpers/app.js';
import { accounts, freshEmail } from '../../test/helpers/accounts.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { childEnv, freePorts, makeTempDir, removeTempDirs, runCli } from '../../test/helpers/process.js';
import type { TrustCheck } from '../feature.js';
import { createOperatorTokens } from '../operator/index.js';
import { catalogue, parseCatalogue } from './catalogue.js';
import { verifyReportText } from './commands.js';
import { controlStatus } from './report.js';
import { checkIdsProblem, createCheckRunner } from './runner.js';
import { createReportSigner, verifySignedReport } from './signing.js';

const t = await fileTestApp();
afterAll(() => removeTempDirs());

const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });

describe('the catalogue (X8)', () => {
  it('[X8] parses groups and controls whose text wraps over lines', () => {
    const groups = parseCatalogue(
      '# Title\n\nintro\n\n## T — Transport\n- **T1** First promise. More words\n  on the next line.\n' +
        '- **T2** Second: with a colon\n\n## D — Data at rest\n- **D1** Third.\n',
    );
    expect(groups).toEqual([
      {
        letter: 'T',
        name: 'Transport',
        controls: [
          { id: 'T1', title: 'First promise.', text: 'First promise. More words on the next line.' },
          { id: 'T2', title: 'Second.', text: 'Second: with a colon' },
        ],
      },
      { letter: 'D', name: 'Data at rest', controls: [{ id: 'D1', title: 'Third.', text: 'Third.' }] },
    ]);
    expect(() => parseCatalogue('## T — Transport\n- **D1** misplaced\n')).toThrow(/under group T/);
  });

  it('[X8] /trust lists every control of docs/controls.md by ID and title, in its group', async () => {
    const res = await get('/trust');
    expect(res.statusCode).toBe(200);
    const html = res.body;
    const all = catalogue();
    expect(all.map((g) => g.letter).join('')).toBe('TDASROLGPX');
    for (const g of all) {
      expect(html).toContain(`id="group-${g.letter}"`);
      for (const c of g.controls) expect(html).toContain(`id="${c.id}"`);
    }
    // A control no check names is "not built", never a claim.
    const g1 = /<li id="G1"[\s\S]*?<\/li>/.exec(html)![0];
    expect(g1).toContain('Not built');
    expect(g1).toContain('no live check names it');
    const o2 = /<article id="O2"[\s\S]*?<\/article>/.exec(html)![0];
    expect(o2).toContain('data-status="passing"');
    expect(o2).toMatch(/Last ran <time/);
  });

  it('[X8] a control fails if any check fails, else is not configured if any is, else passes', () => {
    expect(controlStatus([])).toBe('not_built');
    expect(controlStatus([{ status: 'passing' }, { status: 'failing' }, { status: 'not_configured' }])).toBe('failing');
    expect(controlStatus([{ status: 'passing' }, { status: 'not_configured' }])).toBe('not_configured');
    expect(controlStatus([{ status: 'passing' }, { status: 'passing' }])).toBe('passing');
  });

  it('[X8] the page shows the product name and security contact from the operator settings', async () => {
    const { createOperatorConsole } = await import('../operator/index.js');
    const console = createOperatorConsole({ db: t.db, clock: t.clock });
    await console.saveSettings(
      {
        productName: 'Acme Cloud',
        securityContact: 'security@acme.example',
        policyUrl: null,
        policyText: 'We answer within two days.\n\nNo legal action for good-faith research.',
        preferredLanguages: 'en',
      },
      { name: 'test' },
    );
    const html = (await get('/trust')).body;
    expect(html).toContain('<h1>Acme Cloud trust page</h1>');
    expect(html).toContain('href="mailto:security@acme.example"');
    expect(html).toContain('No legal action for good-faith research.');
  });

  it('[R3] a policy URL not https:// (stored before the console checked it) is shown as text, not a link', async () => {
    await t.db.owner
      .updateTable('deployment_settings')
      .set({ security_contact: 'javascript:alert(1)', policy_url: 'javascript:alert(2)' })
      .execute();
    const html = (await get('/trust')).body;
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).toContain('Disclosure policy: javascript:alert(2)');
    expect(html).toContain('href="mailto:javascript:alert(1)"');
  });
});

describe('the signed report (X8)', () => {
  it('[X8] /trust.json verifies with /trust/key, and not after one byte is changed', async () => {
    const doc = (await get('/trust.json')).json();
    const keys = (await get('/trust/key')).json();
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: doc.signature.kid });
    expect(keys.keys[0].d).toBeUndefined();
    expect(doc.report.instance).toBe(t.config.baseUrl);
    expect(verifySignedReport(doc, keys).ok).toBe(true);
    const text = JSON.stringify(doc);
    const i = text.indexOf('"passing"') + 2;
    const changed = text.slice(0, i) + (text[i] === 'a' ? 'b' : 'a') + text.slice(i + 1);
    expect(verifySignedReport(JSON.parse(changed), keys)).toMatchObject({ ok: false });
    expect(() => verifyReportText(changed, JSON.stringify(keys))).toThrow(/NOT VERIFIED/);
    const other = createReportSigner(Buffer.alloc(32, 7));
    expect(verifySignedReport(doc, { keys: [{ ...other.jwk, kid: doc.signature.kid }] })).toMatchObject({ ok: false });
  });

  it('[X8] every instance of a deployment signs with the same key (derived from the master key)', async () => {
    const second = await createTestApp({}, undefined, { db: t.db });
    try {
      const a = (await get('/trust/key')).json();
      const b = (await second.app.inject({ url: '/trust/key' })).json();
      expect(b).toEqual(a);
      // And they share the results: the second shows what the first checked, without a run of its own.
      const checkedAt = (app: typeof t.app) =>
        app
          .inject({ url: '/trust.json' })
          .then((r) => r.json().report.groups.flatMap((g: { controls: { checks: unknown[] }[] }) => g.controls))
          .then((cs) => cs.find((c: { id: string }) => c.id === 'O2').checks[0].checkedAt);
      expect(await checkedAt(second.app)).toBe(await checkedAt(t.app));
    } finally {
      await second.close();
    }
  });

  it("[X8] rampart trust verify fetches the key from the report's own instance by default", async () => {
    const [port] = (await freePorts(1)) as [number];
    const base = `http://127.0.0.1:${port}`;
    const live = await createTestApp({ RAMPART_BASE_URL: base, PORT: String(port) }, undefined, { realTime: true });
    try {
      await live.app.listen({ port, host: '127.0.0.1' });
      const res = await runCli(['trust', 'verify', `${base}/trust.json`], childEnv());
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain(`instance: ${base}`);
      expect(res.stdout).toContain(`key: ${base}/trust/key`);
      const plain = await runCli(['trust', 'verify', 'http://example.com/trust.json'], childEnv());
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/only https:\/\/ addresses/);
    } finally {
      await live.close();
    }
  });

  it('[X8] rampart trust verify checks a downloaded report, and exits 1 after one byte is changed', async () => {
    const dir = makeTempDir('rampart-trust-');
    const report = path.join(dir, 'trust.json');
    const key = path.join(dir, 'key.json');
    const text = (await get('/trust.json')).body;
    writeFileSync(report, text);
    writeFileSync(key, (await get('/trust/key')).body);
    const tampered = path.join(dir, 'tampered.json');
    writeFileSync(tampered, text.replace(`"instance":"${t.config.baseUrl}"`, `"instance":"${t.config.baseUrl}x"`));
    const [ok, bad, help] = await Promise.all([
      runCli(['trust', 'verify', report, '--key', key], childEnv()),
      runCli(['trust', 'verify', tampered, '--key', key], childEnv()),
      runCli(['trust', 'verify', '--help'], childEnv()),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rampart trust verify[\s\S]*--key/);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`instance: ${t.config.baseUrl}`);
    expect(ok.stdout).toMatch(/controls: 53 \(\d+ passing/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/NOT VERIFIED: the signature does not match/);
  });
});

describe('running the checks (X8)', () => {
  const check = (id: string, run: TrustCheck['run']): TrustCheck => ({ control: 'X8', id, title: id, run });
  const probe = { request: async () => ({ status: 200, headers: {}, body: '' }) };

  it('[X8] check ids are unique and each check names a control ID', () => {
    const run = async () => ({ status: 'passing' as const, detail: '' });
    expect(checkIdsProblem([check('a', run), check('a', run)])).toMatch(/used twice/);
    expect(checkIdsProblem([{ ...check('b', run), control: 'tls' }])).toMatch(/names no control ID/);
    expect(checkIdsProblem([check('Bad Id', run)])).toMatch(/is not 1-80/);
    expect(checkIdsProblem([check('tls-floor', run), check('status_page.probe', run)])).toBeUndefined();
  });

  it('[X8] a check that throws or runs out of time is failing with its reason', async () => {
    const runner = createCheckRunner({
      db: t.db,
      clock: t.clock,
      limitMs: 200,
      probe,
      checks: [
        check('test.throws', async () => {
          throw new Error('the probe fell over');
        }),
        check('test.hangs', () => new Promise(() => {})),
        check('test.passes', async () => ({ status: 'passing', detail: 'fine' })),
      ],
    });
    const results = new Map((await runner.runAll()).map((r) => [r.checkId, r]));
    expect(results.get('test.throws')).toMatchObject({
      status: 'failing',
      detail: 'the check could not run: the probe fell over',
    });
    expect(results.get('test.hangs')).toMatchObject({
      status: 'failing',
      detail: 'the check did not finish within 0.2 s',
    });
    expect(results.get('test.passes')).toMatchObject({ status: 'passing' });
  });

  it('[X8] results keep when each check last ran and last changed, with a history of changes', async () => {
    let status: 'passing' | 'failing' = 'passing';
    const runner = createCheckRunner({
      db: t.db,
      clock: t.clock,
      probe,
      checks: [check('test.flips', async () => ({ status, detail: status }))],
    });
    const first = (await runner.runAll()).find((r) => r.checkId === 'test.flips')!;
    t.clock.advance(60_000);
    const same = (await runner.runAll()).find((r) => r.checkId === 'test.flips')!;
    expect(same.checkedAt.getTime() - first.checkedAt.getTime()).toBe(60_000);
    expect(same.changedAt).toEqual(first.changedAt);
    status = 'failing';
    t.clock.advance(60_000);
    const flipped = (await runner.runAll()).find((r) => r.checkId === 'test.flips')!;
    expect(flipped.changedAt).toEqual(flipped.checkedAt);
    const { recentChanges } = await import('./repository.js');
    const changes = (await t.db.withSystem((tx) => recentChanges(tx, 100))).filter((c) => c.checkId === 'test.flips');
    expect(changes.map((c) => [c.previousStatus, c.status])).toEqual([
      ['passing', 'failing'],
      [null, 'passing'],
    ]);
  });

  it('[X8] concurrent first requests share one run', async () => {
    let runs = 0;
    const fresh = await createTestApp();
    try {
      const runner = createCheckRunner({
        db: fresh.db,
        clock: fresh.clock,
        probe,
        checks: [check('test.counted', async () => ({ status: 'passing', detail: String(++runs) }))],
      });
      await Promise.all([runner.results(), runner.results(), runner.results()]);
      expect(runs).toBe(1);
      await runner.results();
      expect(runs).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('[X8] the scheduled job runs the checks', async () => {
    t.clock.advance(5 * 60_000);
    await t.runJob('trust.checks');
    const doc = (await get('/trust.json')).json();
    const o2 = doc.report.groups
      .flatMap((g: { controls: unknown[] }) => g.controls)
      .find((c: { id: string }) => c.id === 'O2');
    expect(o2.checks[0].checkedAt).toBe(t.clock.now().toISOString());
  });
});

describe('the operator runs the checks on demand (X8)', () => {
  it('[X8] the console page runs them with "Run checks now", and lists status changes', async () => {
    const { client } = await operatorClient(t);
    const page = await client.page('/operator/trust');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Run checks now');
    t.clock.advance(60_000);
    const res = await client.form('/operator/trust/run', {});
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/operator/trust?done=run');
    const after = await client.page('/operator/trust?done=run');
    expect(after.body).toContain('The checks ran');
    expect(after.body).toContain('Status changes');
    const audit = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select(['action', 'actor']).where('action', '=', 'trust.checks_run').execute(),
    );
    expect(audit.length).toBeGreaterThan(0);
  });

  it('[X8] the console page is refused to anyone not granted it', async () => {
    const res = await get('/operator/trust');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/^\/signin/);
    const email = freshEmail();
    await accounts(t).verified(email);
    const someone = await accounts(t).signedIn(email);
    const refused = await someone.request({
      method: 'POST',
      url: '/operator/trust/run',
      form: { _csrf: await someone.csrf() },
      headers: { accept: 'application/json' },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('operator_console_forbidden');
  });

  it('[X8] POST /api/v1/operator/trust/run runs them with an operator token, and refuses without one', async () => {
    const { token } = await createOperatorTokens({ db: t.db, clock: t.clock }).create(`trust-${Date.now()}`);
    t.clock.advance(60_000);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/operator/trust/run',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.summary.controls).toBe(53);
    expect(body.checks.find((c: { id: string }) => c.id === 'row-level-security')).toMatchObject({
      control: 'O2',
      status: 'passing',
      checkedAt: t.clock.now().toISOString(),
    });
    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/operator/trust/run' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('operator_unauthorized');
  });
});

describe('the CAIQ export (X8)', () => {
  it('[X8] maps controls to CAIQ v4 questions with their live status and a link to /trust', async () => {
    const json = (await get('/trust/caiq.json')).json();
    expect(json.questionnaire).toMatch(/CAIQ v4/);
    const ivs = json.answers.find((a: { question: string }) => a.question === 'IVS-06.1');
    expect(ivs).toMatchObject({ control: 'O2', status: 'passing', link: `${t.config.baseUrl}/trust#O2` });
    const bcr = json.answers.find((a: { question: string }) => a.question === 'BCR-08.1');
    expect(bcr).toMatchObject({ control: 'D4', status: 'not built' });
    for (const a of json.answers)
      expect(a.question).toMatch(/^(A&A|AIS|BCR|CCC|CEK|DCS|DSP|GRC|HRS|IAM|IPY|IVS|LOG|SEF|STA|TVM|UEM)-\d\d\.\d$/);
    const csv = await get('/trust/caiq.csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('Question ID,CCM control,Rampart control,Control,Status,Detail,Link');
    expect(lines.length).toBe(json.answers.length + 1);
    expect(csv.body).toContain(`IVS-06.1,Segmentation and Segregation,O2,`);
  });
});

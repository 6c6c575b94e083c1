import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/helpers/app.js';
import { makeCertificate } from '../../test/helpers/certificates.js';
import { operatorClient } from '../../test/helpers/operator.js';

/* X2 probes end to end: a real HTTPS server on loopback, trusted through its CA only (T3). */

const certificate = makeCertificate();
let answer = 200;
let hits = 0;
const server: Server = createServer({ cert: certificate.cert, key: certificate.key }, (_req, res) => {
  hits++;
  res.writeHead(answer).end('health');
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const target = `https://127.0.0.1:${(server.address() as AddressInfo).port}/health`;

const t = await createTestApp({}, undefined, {
  overrides: { statusProbeCa: certificate.cert, statusProbeFailures: 3 },
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((r) => server.close(() => r()));
});
const { client: op } = await operatorClient(t);
await op.form('/operator/status/components', { id: 'api', name: 'API', description: '', state: 'operational' });

const probes = () => t.db.withSystem((tx) => tx.selectFrom('status_probes').selectAll().execute());
const minute = async () => {
  t.clock.advance(60_000);
  await t.runJob('status.probes');
};
const apiDays = () =>
  t.db.withSystem((tx) => tx.selectFrom('status_days').selectAll().where('component_id', '=', 'api').execute());
const total = async (k: 'observed' | 'major') => (await apiDays()).reduce((n, d) => n + d[k], 0);

describe('status probes', () => {
  it('[X2] [T3] a probe must be https:// (http:// only to loopback in dev), without credentials', async () => {
    for (const url of [
      'http://status.example.com/health',
      'https://user:pw@status.example.com/',
      'javascript:alert(1)',
    ]) {
      const res = await op.form('/operator/status/components/api/probes', { url, expectedStatus: '200' });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 400 });
      expect(res.body).toContain('id="field-url-error"');
    }
    const status = await op.form('/operator/status/components/api/probes', { url: target, expectedStatus: '99' });
    expect(status.statusCode).toBe(400);
    expect(status.body).toContain('id="field-expectedStatus-error"');
    expect(await probes()).toHaveLength(0);
    const missing = await op.form('/operator/status/components/nope/probes', { url: target, expectedStatus: '200' });
    expect(missing.statusCode).toBe(404);
  });

  it('[X2] a passing probe records its result and the observed minute', async () => {
    const added = await op.form('/operator/status/components/api/probes', { url: target, expectedStatus: '200' });
    expect(added.statusCode).toBe(303);
    await t.runJob('status.probes'); // the first run also records the minute before (none did)
    await t.db.withSystem((tx) => tx.deleteFrom('status_probe_results').execute());
    const before = await total('observed');
    await minute();
    const [probe] = await probes();
    expect(probe).toMatchObject({ last_ok: true, failures: 0, last_detail: 'answered 200' });
    expect(await total('observed')).toBe(before + 1);
    expect(await total('major')).toBe(0);
    const results = await t.db.withSystem((tx) => tx.selectFrom('status_probe_results').selectAll().execute());
    expect(results.map((r) => [r.ok, r.http_status])).toEqual([[true, 200]]);
  });

  it('[X2] the same minute on a second run does not probe again (claimed) nor count twice', async () => {
    const seen = hits;
    const observed = await total('observed');
    await t.runJob('status.probes');
    expect(hits).toBe(seen);
    expect(await total('observed')).toBe(observed);
  });

  it('[X2] three failures in a row open one draft incident (incidents service); minutes count as down', async () => {
    answer = 503;
    const major = await total('major');
    await minute();
    await minute();
    expect((await probes())[0]).toMatchObject({ last_ok: false, failures: 2, draft_incident_id: null });
    await minute();
    const [probe] = await probes();
    expect(probe!.failures).toBe(3);
    expect(probe!.draft_incident_id).toEqual(expect.any(String));
    expect(probe!.last_detail).toBe('answered 503, expected 200');
    const draft = await t.db.withSystem((tx) =>
      tx.selectFrom('incidents').selectAll().where('id', '=', probe!.draft_incident_id!).executeTakeFirstOrThrow(),
    );
    expect(draft).toMatchObject({ draft: true, title: 'API: probe failing' });
    expect((await t.app.inject({ url: `/status/incidents/${draft.id}` })).statusCode).toBe(404);
    expect(await total('major')).toBe(major + 3);
    await minute(); // a fourth failure opens no second draft
    expect((await probes())[0]!.draft_incident_id).toBe(probe!.draft_incident_id);

    const page = await op.page('/operator/status/components/api');
    expect(page.body).toContain('Failed');
    expect(page.body).toContain('answered 503, expected 200');

    answer = 200;
    await minute();
    expect((await probes())[0]).toMatchObject({ last_ok: true, failures: 0, draft_incident_id: null });
  });

  it('[X2] a probe is removed from its component page, with its audit event', async () => {
    const [probe] = await probes();
    expect((await op.form(`/operator/status/probes/${probe!.id}/remove`, {})).statusCode).toBe(303);
    expect(await probes()).toHaveLength(0);
    const actions = await t.db.withSystem((tx) =>
      tx.selectFrom('audit_events').select('action').where('action', 'like', 'status.probe_%').execute(),
    );
    expect(actions.map((a) => a.action).sort()).toEqual(['status.probe_added', 'status.probe_removed']);
  });
});

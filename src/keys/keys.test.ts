import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamSecretContext } from '../external-signin/providers.js';
import { FEATURES } from '../features.js';
import { createOperatorTokens } from '../operator/index.js';
import { systemClock } from '../platform/clock.js';
import { seal } from '../platform/crypto/envelope.js';
import { generateMasterKeyEntry, parseKeyring } from '../platform/crypto/keyring.js';
import { allSealedValues } from '../platform/keys/values.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { TestClient } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';
import { makeTempDir, removeTempDirs } from '../../test/helpers/process.js';
import { rotationCheck } from './trust-check.js';

let t: TestApp;
let keyFile: string;
let token: string;

beforeAll(async () => {
  keyFile = path.join(makeTempDir('rampart-keys-console-'), 'master-keys');
  writeFileSync(keyFile, `${generateMasterKeyEntry(1)}\n`, { mode: 0o600 });
  t = await createTestApp({ RAMPART_MASTER_KEYS: undefined, RAMPART_MASTER_KEYS_FILE: keyFile });
  token = (await createOperatorTokens({ db: t.db, clock: systemClock }).create('keys-test')).token;
  const v1 = parseKeyring(readFileSync(keyFile, 'utf8'));
  await t.db.withSystem((tx) =>
    tx
      .insertInto('upstream_providers')
      .values({
        id: 'console-idp',
        name: 'IdP',
        issuer: 'https://idp.example.com',
        client_id: 'c',
        client_secret_sealed: seal(v1, 's3cret', upstreamSecretContext('console-idp')),
        created_at: t.clock.now(),
      })
      .execute(),
  );
}, 60_000);

afterAll(async () => {
  await t?.close();
  removeTempDirs();
});

const api = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  t.app.inject({ method, url, payload: payload as never, headers: { authorization: `Bearer ${token}` } });

async function settled(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const op = (await api('GET', '/api/v1/operator/keys')).json().operation;
    if (op?.state !== 'running') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the key operation did not finish');
}

const audited = async (action: string) =>
  t.db.withSystem((tx) =>
    tx.selectFrom('audit_events').select(['actor', 'payload']).where('action', '=', action).execute(),
  );

describe('master keys on the operator console and API (D3)', () => {
  it('[D3] the operator API needs an operator token, shows the status, rotates, rewraps and retires', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/operator/keys' })).statusCode).toBe(401);
    const before = (await api('GET', '/api/v1/operator/keys')).json();
    expect(before).toMatchObject({ source: 'file', versions: [1], current: 1, retired: [] });
    expect(before.counts['external_signin.client_secret']).toEqual({ v1: 1 });
    expect(before.instances).toHaveLength(1);

    const started = await api('POST', '/api/v1/operator/keys/rotate');
    expect(started.statusCode).toBe(202);
    expect(started.json().operation).toMatchObject({ kind: 'rotate', state: 'running' });
    await settled();
    const rotated = (await api('GET', '/api/v1/operator/keys')).json();
    expect(rotated).toMatchObject({ versions: [1, 2], current: 2, operation: { kind: 'rotate', state: 'done' } });

    const refused = await api('POST', '/api/v1/operator/keys/retire', { version: 'v1' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('key_rotation_refused');
    expect(refused.json().error.message).toMatch(/v1 still wraps .*1 external_signin\.client_secret/);
    expect((await api('POST', '/api/v1/operator/keys/retire', { version: 'one' })).statusCode).toBe(400);

    expect((await api('POST', '/api/v1/operator/keys/rewrap')).statusCode).toBe(202);
    await settled();
    const rewrapped = (await api('GET', '/api/v1/operator/keys')).json();
    for (const perVersion of Object.values(rewrapped.counts) as Record<string, number>[]) {
      expect(Object.keys(perVersion).filter((v) => v !== 'v2')).toEqual([]);
    }
    const retired = await api('POST', '/api/v1/operator/keys/retire', { version: 'v1' });
    expect(retired.statusCode).toBe(200);
    expect((await api('GET', '/api/v1/operator/keys')).json()).toMatchObject({ versions: [2], retired: [1] });
    expect((await audited('keys.rotated'))[0]).toMatchObject({ actor: 'operator:keys-test' });
    expect(await audited('keys.rewrapped')).toHaveLength(1);
    expect((await audited('keys.retired'))[0]?.payload).toMatchObject({ version: 1 });
  }, 60_000);

  it('[D3] /operator/keys shows versions, counts and instances, and its buttons are CSRF-checked POSTs', async () => {
    const anonymous = await new TestClient(t.app).page('/operator/keys');
    expect(anonymous.statusCode).toBe(303);
    const { client } = await operatorClient(t);
    const view = await client.page('/operator/keys');
    expect(view.statusCode).toBe(200);
    expect(view.body).toContain('Current: <strong>v2</strong>');
    expect(view.body).toContain('external_signin.client_secret');
    expect(view.body).toMatch(/action="\/operator\/keys\/rotate"/);

    const forged = await client.request({ method: 'POST', url: '/operator/keys/rewrap', form: {} });
    expect(forged.statusCode).toBe(403);
    const started = await client.form('/operator/keys/rewrap', {});
    expect(started.statusCode).toBe(303);
    expect(started.headers.location).toBe('/operator/keys?done=rewrap');
    await settled();
    const after = await client.page('/operator/keys?done=rewrap');
    expect(after.body).toMatch(/Rewrap: done/);
    const refused = await client.form('/operator/keys/retire', { version: 'v2' });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('v2 is the current version');
  }, 60_000);

  it('[D3] the rotation trust check fails while a record is under a retired version, with the counts', async () => {
    const check = rotationCheck({ db: t.db, values: allSealedValues(FEATURES), clock: t.clock });
    const passing = await check.run(undefined as never);
    expect(passing.status).toBe('passing');
    expect(passing.detail).toMatch(/current v2 on 1 live instance\(s\); retired v1; v2: \d+/);

    const v1 = parseKeyring(generateMasterKeyEntry(1)); // any v1 header: what counts is the version it names
    await t.db.withSystem((tx) =>
      tx
        .updateTable('upstream_providers')
        .set({ client_secret_sealed: seal(v1, 'x', upstreamSecretContext('console-idp')) })
        .execute(),
    );
    const failing = await check.run(undefined as never);
    expect(failing.status).toBe('failing');
    expect(failing.detail).toMatch(/^1 external_signin\.client_secret under retired v1 \(v1: 1, v2: \d+\)$/);
    await t.db.withSystem((tx) => tx.deleteFrom('upstream_providers').execute());

    // An instance that kept sealing under another version past the reload interval.
    await t.db.withSystem((tx) =>
      tx
        .insertInto('keyring_instances')
        .values({
          instance_id: '00000000-0000-4000-8000-000000000001',
          versions: [1, 2],
          current_version: 1,
          source: 'file',
          seen_at: t.clock.now(),
        })
        .execute(),
    );
    t.clock.advance(31_000);
    await t.db.withSystem((tx) => tx.updateTable('keyring_instances').set({ seen_at: t.clock.now() }).execute());
    const split = await check.run(undefined as never);
    expect(split.status).toBe('failing');
    expect(split.detail).toContain('00000000-0000-4000-8000-000000000001 uses v1');
  });
});

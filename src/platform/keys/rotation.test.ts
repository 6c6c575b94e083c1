import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamSecretContext } from '../../external-signin/providers.js';
import { pkceContext } from '../../external-signin/service.js';
import { FEATURES } from '../../features.js';
import { secretContext } from '../../mfa/checks.js';
import { totpCode } from '../../mfa/totp.js';
import { createSigningKeys } from '../../oidc/signing-keys.js';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { accounts } from '../../../test/helpers/accounts.js';
import { TestClient } from '../../../test/helpers/client.js';
import { enrollTotp } from '../../../test/helpers/mfa.js';
import { makeTempDir, removeTempDirs } from '../../../test/helpers/process.js';
import { freshSecret, providerAdmin, TestProvider } from '../../../test/helpers/vault.js';
import { defineFeature, type FeatureContext } from '../../feature.js';
import { DecryptError, keyVersionOf, open, seal } from '../crypto/envelope.js';
import { generateMasterKeyEntry, parseKeyring } from '../crypto/keyring.js';
import { createLiveKeyring, type LiveKeyring } from '../crypto/live-keyring.js';
import { countVersions, needingRewrap, rewrapAll } from './rewrap.js';
import { keyStatus, retire, rotate, type RotationDeps } from './rotation.js';
import { KEYRING_CHANNEL } from './state.js';
import { allSealedValues } from './values.js';

const values = allSealedValues(FEATURES);
let dir: string;
let keyFile: string;
let t: TestApp;
let second: TestApp;

/** The operator's side (what `rampart keys …` builds): its own live keyring on the same key file. */
function operatorDeps(app: TestApp = t): RotationDeps & { keyring: LiveKeyring } {
  const keyring = createLiveKeyring({ initial: parseKeyring(readFileSync(keyFile, 'utf8'), keyFile), file: keyFile });
  return {
    db: app.db,
    keyring,
    values,
    clock: app.clock,
    announce: () => app.bus.publish(KEYRING_CHANNEL, 'reload'),
  };
}

/** One deployment, one time: the instances' clocks move together. */
function advance(ms: number): void {
  t.clock.advance(ms);
  second.clock.set(t.clock.now());
}

async function until(what: string, condition: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const totpVersions = async () =>
  (await t.db.withSystem((tx) => tx.selectFrom('totp_credentials').select('secret_sealed').execute())).map((r) =>
    keyVersionOf(r.secret_sealed),
  );

async function seedSystemValues(keyring: LiveKeyring, n: number): Promise<void> {
  const now = t.clock.now();
  await t.db.withSystem(async (tx) => {
    for (let i = 0; i < n; i++) {
      const id = `rot-${randomBytes(4).toString('hex')}`;
      await tx
        .insertInto('upstream_providers')
        .values({
          id,
          name: id,
          issuer: 'https://idp.example.com',
          client_id: 'client',
          client_secret_sealed: seal(keyring, `secret-${i}`, upstreamSecretContext(id)),
          created_at: now,
        })
        .execute();
      const stateHash = randomBytes(32).toString('hex');
      await tx
        .insertInto('external_signin_flows')
        .values({
          state_hash: stateHash,
          provider_id: id,
          browser_hash: 'b',
          nonce: 'n',
          code_verifier_sealed: seal(keyring, `verifier-${i}`, pkceContext(stateHash)),
          purpose: 'sign_in',
          user_id: null,
          next: null,
          created_at: now,
          expires_at: new Date(now.getTime() + 600_000),
        })
        .execute();
    }
  });
}

function twinOn(app: TestApp, client: TestClient): TestClient {
  const twin = new TestClient(app.app, { ip: client.ip });
  for (const [name, value] of client.cookies) twin.cookies.set(name, value);
  return twin;
}

interface TotpUser {
  client: TestClient;
  secret: string;
}
const users: TotpUser[] = [];

/** A credential in use on each instance: its org, connection, and each instance's vault. */
const provider = new TestProvider();
const vaults: FeatureContext[] = [];
let credential: { orgId: string; connectionId: string };

/** A test feature that keeps each app's feature context, so the test calls the vault as a feature would. */
const keepContext = () =>
  defineFeature({
    name: 'capture',
    title: 'Test: the feature context',
    setup(ctx) {
      vaults.push(ctx);
    },
  });

beforeAll(async () => {
  dir = makeTempDir('rampart-keys-');
  keyFile = path.join(dir, 'master-keys');
  writeFileSync(keyFile, `${generateMasterKeyEntry(1)}\n`, { mode: 0o600 });
  const env = { RAMPART_MASTER_KEYS: undefined, RAMPART_MASTER_KEYS_FILE: keyFile };
  await provider.start();
  const overrides = { vaultOutbound: { ca: provider.cert.cert } };
  t = await createTestApp(env, undefined, { features: [...FEATURES, keepContext()], overrides });
  second = await createTestApp(env, undefined, {
    db: t.db,
    sameDeploymentAs: t,
    features: [...FEATURES, keepContext()],
    overrides,
  });
  const a = accounts(t);
  for (let i = 0; i < 20; i++) {
    const client = await a.signedIn(await a.verified());
    const { secret } = await enrollTotp(t, client);
    // Every other person goes on through the second instance (its CSRF and session keys must agree).
    users.push({ client: i % 2 === 0 ? client : twinOn(second, client), secret });
  }
  // An organization's connection (its org key sealed under v1), used through either instance.
  await (await providerAdmin(t)).provider('load', provider);
  const key = freshSecret();
  provider.accepted.add(key);
  const orgId = (await users[0]!.client.api('POST', '/api/v1/orgs', { name: 'Load Inc' })).json().id as string;
  const made = await users[0]!.client.api('POST', `/api/v1/orgs/${orgId}/connections`, {
    providerId: 'load',
    label: 'load',
    secret: key,
  });
  credential = { orgId, connectionId: made.json().id as string };
  advance(0);
  await t.bus.publish(KEYRING_CHANNEL, 'reload'); // both report in at the deployment's time
}, 240_000);

afterAll(async () => {
  await second?.close();
  await t?.close();
  await provider.close();
  removeTempDirs();
});

/** One kind of request that decrypts on every call: a step-up with a TOTP code (the vault's join here). */
type LoadRequest = (round: number, index: number) => Promise<boolean>;
const totpStepUp: LoadRequest = async (_round, index) => {
  const user = users[index]!;
  const res = await user.client.api('POST', '/api/v1/account/step-up', {
    factor: 'totp',
    secret: totpCode(user.secret, t.clock.now()),
  });
  return res.statusCode === 200;
};

describe('master key rotation (D3)', () => {
  it('[D3] rotate: both instances seal new values under the new version without a restart; old ones open', async () => {
    const op = operatorDeps();
    const before = await totpVersions();
    expect(new Set(before)).toEqual(new Set([1]));
    const oidcKeys = createSigningKeys({ db: t.db, keyring: op.keyring, clock: t.clock });
    await oidcKeys.current(); // a signing key sealed under v1
    await seedSystemValues(op.keyring, 3);

    const rotated = await rotate(op, { pollMs: 20 });
    expect(rotated.version).toBe(2);
    expect(rotated.instances.length).toBeGreaterThanOrEqual(2);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^v1:[A-Za-z0-9_-]{43}\nv2:[A-Za-z0-9_-]{43}\n$/);

    // A new TOTP enrollment on each instance is sealed under v2; the older secrets still work on both.
    const a = accounts(t);
    for (const app of [t, second]) {
      const client = await accounts(app).signedIn(await a.verified(), app);
      const { secret } = await enrollTotp(app, client);
      users.push({ client, secret });
      if (app === second) t.clock.set(second.clock.now());
      advance(0);
    }
    const after = await totpVersions();
    expect(after.filter((v) => v === 2)).toHaveLength(2);
    expect(await totpStepUp(0, 0)).toBe(true);
    expect(await totpStepUp(0, 1)).toBe(true);
    advance(30_000);
  }, 60_000);

  it('[D3] rewrap moves every declared value to the current version, and an interrupted run continues', async () => {
    const op = operatorDeps();
    const counts = await countVersions(t.db, values);
    expect(counts['mfa.totp_secret']?.v1).toBe(20);
    expect(counts['oidc.signing_key']?.v1).toBeGreaterThanOrEqual(1);
    expect(counts['external_signin.client_secret']?.v1).toBe(3);
    expect(counts['external_signin.code_verifier']?.v1).toBe(3);
    expect(counts['platform.subkey_root']?.v1).toBe(1);
    expect(counts['vault.org_key']?.v1).toBe(1);

    const stop = new AbortController();
    const first = await rewrapAll({
      ...op,
      batch: 5,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.name === 'mfa.totp_secret') stop.abort(); // interrupted after its first batch of TOTP secrets
      },
    });
    expect(first.interrupted).toBe(true);
    // The subkey root, then one batch of five TOTP secrets (those among them already under v2 are skipped).
    expect(first.rewrapped).toBeGreaterThanOrEqual(1 + 3);
    expect(first.rewrapped).toBeLessThanOrEqual(1 + 5);
    expect(first.counts['platform.subkey_root']).toEqual({ v2: 1 });
    expect(first.counts['mfa.totp_secret']).toEqual({ v1: 20 - (first.rewrapped - 1), v2: 2 + first.rewrapped - 1 });

    const progress: number[] = [];
    const rest = await rewrapAll({ ...op, batch: 5, onProgress: (p) => progress.push(p.done) });
    expect(rest.interrupted).toBe(false);
    expect(rest.failed).toEqual([]);
    for (const [name, perVersion] of Object.entries(rest.counts)) {
      expect(
        Object.keys(perVersion).filter((v) => v !== 'v2'),
        name,
      ).toEqual([]);
    }
    expect(first.rewrapped + rest.rewrapped).toBe(needingRewrap(counts, 2));
    expect(needingRewrap(counts, 2)).toBe(20 + counts['oidc.signing_key']!.v1! + 3 + 3 + 1 + 1);
    expect(progress.at(-1)).toBe(rest.rewrapped);
    // The data was never re-encrypted: the values still open to what they were.
    const row = await t.db.withSystem((tx) =>
      tx
        .selectFrom('upstream_providers')
        .select(['id', 'client_secret_sealed'])
        .orderBy('id')
        .executeTakeFirstOrThrow(),
    );
    expect(open(op.keyring, row.client_secret_sealed, upstreamSecretContext(row.id)).toString()).toMatch(/^secret-/);
    expect(await totpStepUp(1, 2)).toBe(true);
    advance(30_000);
  }, 60_000);

  it('[D3] retire refuses while a record needs the version, then succeeds; a retired one fails loudly', async () => {
    const op = operatorDeps();
    await expect(retire(op, 2)).rejects.toThrow(/v2 is the current version/);
    // A record still under v1 (a backup restored, say): retire names it.
    const userId = (await t.db.withSystem((tx) => tx.selectFrom('totp_credentials').select('user_id').execute()))[0]!
      .user_id;
    const v1Only = createLiveKeyring({ initial: op.keyring, file: undefined });
    v1Only.decide({ current: 1, retired: [] });
    const stale = seal(v1Only, 'JBSWY3DPEHPK3PXP', secretContext(userId));
    const fresh = await t.db.withSystem((tx) =>
      tx.selectFrom('totp_credentials').select('secret_sealed').where('user_id', '=', userId).executeTakeFirstOrThrow(),
    );
    await t.db.withSystem((tx) =>
      tx.updateTable('totp_credentials').set({ secret_sealed: stale }).where('user_id', '=', userId).execute(),
    );
    await expect(retire(op, 1)).rejects.toThrow(/v1 still wraps 1 mfa\.totp_secret: run `rampart keys rewrap` first/);
    await t.db.withSystem((tx) =>
      tx
        .updateTable('totp_credentials')
        .set({ secret_sealed: fresh.secret_sealed })
        .where('user_id', '=', userId)
        .execute(),
    );

    const done = await retire(op, 1);
    expect(done.removedFromFile).toBe(true);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^v2:[A-Za-z0-9_-]{43}\n$/);
    await until('both instances to drop v1', async () => {
      const status = await keyStatus(op);
      return status.instances.length >= 2 && status.instances.every((i) => !i.versions.includes(1));
    });
    const status = await keyStatus(op);
    expect(status.retired).toEqual([1]);
    expect(status.current).toBe(2);

    // A value under the retired version: the error names it, and it is logged at error level.
    const keepsV1 = createLiveKeyring({
      initial: v1Only,
      file: undefined,
      onRetiredUse: (err) => logged.push(err.message),
    });
    const logged: string[] = [];
    keepsV1.decide({ current: 2, retired: [1] });
    let caught: unknown;
    try {
      open(keepsV1, stale, secretContext(userId));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecryptError);
    expect((caught as Error).message).toMatch(/master key version v1, which is retired/);
    expect(logged).toHaveLength(1);
    // And on the running apps: a value left under v1 fails to open there too, logged at error level.
    await t.db.withSystem((tx) =>
      tx.updateTable('totp_credentials').set({ secret_sealed: stale }).where('user_id', '=', userId).execute(),
    );
    const refused = await Promise.all(users.slice(0, 20).map((_, i) => totpStepUp(0, i)));
    expect(refused.filter((ok) => !ok)).toHaveLength(1);
    const line = (t.logs() + second.logs()).split('\n').find((l) => l.includes('retired master key'));
    expect(JSON.parse(line!)).toMatchObject({ level: 50 });
    expect(line).toMatch(/master key version v1, which is retired/);
    await t.db.withSystem((tx) =>
      tx
        .updateTable('totp_credentials')
        .set({ secret_sealed: fresh.secret_sealed })
        .where('user_id', '=', userId)
        .execute(),
    );
    advance(30_000);
  }, 60_000);

  /** A request through the connection (the org key and the secret opened), on either instance. */
  async function credentialUse(_round: number, i: number): Promise<boolean> {
    try {
      const vault = vaults[i % 2]!.use('vault');
      const status = await vault.useCredential(credential.orgId, credential.connectionId, 'load', async (f) => {
        return (await f(`https://${provider.host}/v1/me`)).status;
      });
      return status === 200;
    } catch {
      return false;
    }
  }

  it('[D3] rotation under load: 20 concurrent requests (TOTP step-ups and credential uses) on two instances while ' +
    'rotate, rewrap and retire run: zero failed decrypts', async () => {
    const requests: LoadRequest[] = [totpStepUp, credentialUse];
    let failures = 0;
    let served = 0;
    let running = true;
    const load = (async () => {
      for (let round = 0; running || round < 2; round++) {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => requests[(round + i) % requests.length]!(round, i)),
        );
        served += results.length;
        failures += results.filter((ok) => !ok).length;
        advance(30_000); // the next round's codes are of a new time step (a code is single-use)
      }
    })();
    const op = operatorDeps();
    try {
      const rotated = await rotate(op, { pollMs: 20 });
      expect(rotated.version).toBe(3);
      const rewrapped = await rewrapAll({ ...op, batch: 4 });
      expect(rewrapped.failed).toEqual([]);
      await retire(op, 2);
    } finally {
      running = false;
      await load;
    }
    expect(served).toBeGreaterThanOrEqual(40);
    expect(failures).toBe(0);
    // Half of them went through the connection to the provider, with its key.
    expect(provider.seen.filter((r) => r.url === '/v1/me').length).toBeGreaterThanOrEqual(served / 2);
    const logs = (t.logs() + second.logs()).split('\n').filter((l) => l.includes('"level":50'));
    expect(logs.filter((l) => !l.includes('master key version v1, which is retired'))).toEqual([]);
    const counts = await countVersions(t.db, values);
    // Kinds this world holds no value of count nothing; the others are all on v3.
    expect(Object.keys(counts['mfa.totp_secret'] ?? {})).toEqual(['v3']);
    expect(Object.keys(counts['vault.org_key'] ?? {})).toEqual(['v3']);
    for (const [name, perVersion] of Object.entries(counts))
      if (Object.keys(perVersion).length) expect(Object.keys(perVersion), name).toEqual(['v3']);
  }, 120_000);

  it('[D3] keys given in RAMPART_MASTER_KEYS cannot be rotated online, and rotate says why', async () => {
    const keyring = createLiveKeyring({ initial: parseKeyring(generateMasterKeyEntry(1)), file: undefined });
    await expect(rotate({ ...operatorDeps(), keyring })).rejects.toThrow(
      /RAMPART_MASTER_KEYS, which cannot change without a restart/,
    );
  });
});

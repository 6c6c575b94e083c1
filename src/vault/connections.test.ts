import { afterAll, describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { open } from '../platform/crypto/envelope.js';
import { parseKeyring } from '../platform/crypto/keyring.js';
import { vaultFeature } from './index.js';
import { freshSecret, providerAdmin, TestProvider, vaultTestApp } from '../../test/helpers/vault.js';

/*
 * D1, O1, L1 on the real app: keys pasted into connections are sealed per organization, shown only
 * as a mask and fingerprint, checked against a real HTTPS provider on loopback, and unreadable once
 * moved or once the organization's key is destroyed.
 */

const server = await new TestProvider().start();
const { t, vault } = await vaultTestApp(server);
afterAll(async () => {
  await t.close();
  await server.close();
});
const helpers = accounts(t);
const admin = await providerAdmin(t);
await admin.provider('acme', server);
await admin.provider('acme-basic', server, { authStyle: 'basic' });
await admin.provider('acme-down', server, { validation: { method: 'GET', path: '/v1/down' } });

const owner = await helpers.signedIn(await helpers.verified());
const orgId = (await owner.api('POST', '/api/v1/orgs', { name: 'Vault Inc' })).json().id as string;
const base = `/api/v1/orgs/${orgId}/connections`;

async function connect(body: Record<string, unknown>, client = owner, url = base) {
  return client.api('POST', url, { providerId: 'acme', label: `c-${Math.random().toString(36).slice(2)}`, ...body });
}

const use = (id: string, purpose = 'test') =>
  vault().useCredential(orgId, id, purpose, async (f) => (await f(`https://${server.host}/v1/me`)).status);

describe('connections (D1)', () => {
  it('[D1] a pasted key is checked with the provider: valid, invalid, or error (still stored)', async () => {
    const good = freshSecret();
    server.accepted.add(good);
    const valid = await connect({ secret: good });
    expect(valid.statusCode).toBe(201);
    expect(valid.json()).toMatchObject({ status: 'valid', kind: 'api_key', providerId: 'acme' });
    expect(valid.json().checkedAt).toBe(t.clock.now().toISOString());
    expect(valid.json().mask).toBe(`sk_live_…${good.slice(-4)}`);
    expect(valid.json().fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(valid.body).not.toContain(good);

    const refused = await connect({ secret: freshSecret() });
    expect(refused.json()).toMatchObject({ status: 'invalid', statusDetail: 'the provider answered 401' });

    const down = await connect({ providerId: 'acme-down', secret: freshSecret() });
    expect(down.statusCode).toBe(201);
    expect(down.json()).toMatchObject({ status: 'error', statusDetail: 'the provider answered 503' });
    const listed = (await owner.api('GET', base)).json().connections as Array<{ id: string }>;
    expect(listed.map((c) => c.id)).toEqual(expect.arrayContaining([valid.json().id, down.json().id]));
  });

  it('[R6] two connections with one label at once: one is made, the other is refused (409), never a 500', async () => {
    const label = `same-${Math.random().toString(36).slice(2)}`;
    const answers = await Promise.all([
      connect({ secret: freshSecret(), label }),
      connect({ secret: freshSecret(), label }),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.statusCode === 409)!.json().error.code).toBe('connection_label_taken');
  });

  it('[D1] the key is sealed at rest: no row holds it, and two keys get different fingerprints', async () => {
    const secret = freshSecret();
    const a = (await connect({ secret })).json();
    const b = (await connect({ secret: freshSecret() })).json();
    expect(a.fingerprint).not.toBe(b.fingerprint);
    const rows = await t.db.owner.selectFrom('vault_secrets').selectAll().where('connection_id', '=', a.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sealed).toMatch(/^rmp1\./);
    const everything = JSON.stringify([
      await t.db.owner.selectFrom('vault_secrets').selectAll().execute(),
      await t.db.owner.selectFrom('vault_connections').selectAll().execute(),
      await t.db.owner.selectFrom('org_keys').selectAll().execute(),
    ]);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
  });

  it('[D1] replacing a key never shows the old or new one; delete is immediate', async () => {
    const first = freshSecret();
    const second = freshSecret();
    server.accepted.add(second);
    const c = (await connect({ secret: first })).json();
    expect(c.status).toBe('invalid');
    const replaced = await owner.api('PUT', `${base}/${c.id}/secret`, { secret: second });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ status: 'valid', mask: `sk_live_…${second.slice(-4)}` });
    expect(replaced.json().fingerprint).not.toBe(c.fingerprint);
    expect(replaced.body).not.toContain(second);
    expect(await use(c.id)).toBe(200);

    server.accepted.delete(second);
    const checked = await owner.api('POST', `${base}/${c.id}/check`);
    expect(checked.json().status).toBe('invalid');

    expect((await owner.api('DELETE', `${base}/${c.id}`)).statusCode).toBe(204);
    expect((await owner.api('GET', `${base}/${c.id}`)).statusCode).toBe(404);
    await expect(use(c.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(
      await t.db.owner.selectFrom('vault_secrets').selectAll().where('connection_id', '=', c.id).execute(),
    ).toEqual([]);
  });

  it('[D1] basic auth: username and password, both sealed, presented as Basic', async () => {
    const pair = { username: 'api-user', password: freshSecret('pw_') };
    server.accepted.add(`${pair.username}:${pair.password}`);
    const c = await connect({ providerId: 'acme-basic', ...pair });
    expect(c.json()).toMatchObject({ status: 'valid' });
    expect(c.body).not.toContain(pair.password);
    const missing = await connect({ providerId: 'acme-basic', secret: 'x'.repeat(20) });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.fields).toEqual([{ field: 'password', message: 'is required' }]);
  });

  it("[D1] a moved ciphertext fails to decrypt: another org's row, or a field swapped", async () => {
    const other = await helpers.signedIn(await helpers.verified());
    const otherOrg = (await other.api('POST', '/api/v1/orgs', { name: 'Other' })).json().id as string;
    const theirs = freshSecret();
    server.accepted.add(theirs);
    const their = (await connect({ secret: theirs }, other, `/api/v1/orgs/${otherOrg}/connections`)).json();
    const mine = (await connect({ secret: freshSecret() })).json();
    const stolen = await t.db.owner
      .selectFrom('vault_secrets')
      .select('sealed')
      .where('connection_id', '=', their.id)
      .executeTakeFirstOrThrow();
    await t.db.owner
      .updateTable('vault_secrets')
      .set({ sealed: stolen.sealed })
      .where('connection_id', '=', mine.id)
      .execute();
    await expect(use(mine.id)).rejects.toMatchObject({ code: 'connection_unreadable' });
    const unseen = server.seen.length;

    // Within one connection: the password sealed as the username does not open either.
    const pair = { username: 'swap-user', password: freshSecret('pw_') };
    const basic = (await connect({ providerId: 'acme-basic', ...pair })).json();
    const fields = await t.db.owner
      .selectFrom('vault_secrets')
      .selectAll()
      .where('connection_id', '=', basic.id)
      .execute();
    const byField = Object.fromEntries(fields.map((f) => [f.field, f.sealed]));
    for (const [field, sealed] of [
      ['username', byField.password],
      ['password', byField.username],
    ])
      await t.db.owner
        .updateTable('vault_secrets')
        .set({ sealed: sealed! })
        .where('connection_id', '=', basic.id)
        .where('field', '=', field!)
        .execute();
    const unseenBasic = server.seen.length;
    await expect(use(basic.id)).rejects.toMatchObject({ code: 'connection_unreadable' });
    expect(server.seen.length).toBe(unseenBasic);
    expect(unseen).toBeLessThanOrEqual(server.seen.length);
  });

  it("[D1] destroying the organization's key makes every secret unreadable, and no new key appears", async () => {
    const victim = await helpers.signedIn(await helpers.verified());
    const vOrg = (await victim.api('POST', '/api/v1/orgs', { name: 'Shredded' })).json().id as string;
    const secret = freshSecret();
    server.accepted.add(secret);
    const c = (await connect({ secret }, victim, `/api/v1/orgs/${vOrg}/connections`)).json();
    expect(c.status).toBe('valid');
    await vault().destroyOrgKey(vOrg, 'cli');
    const key = await t.db.owner
      .selectFrom('org_keys')
      .selectAll()
      .where('org_id', '=', vOrg)
      .executeTakeFirstOrThrow();
    expect(key).toMatchObject({ kek_sealed: null });
    const seenBefore = server.seen.length;
    await expect(
      vault().useCredential(vOrg, c.id, 'test', async (f) => (await f(`https://${server.host}/v1/me`)).status),
    ).rejects.toMatchObject({ code: 'connection_key_destroyed', status: 410 });
    expect(server.seen.length).toBe(seenBefore);
    const check = await victim.api('POST', `/api/v1/orgs/${vOrg}/connections/${c.id}/check`);
    expect(check.json().error.code).toBe('connection_key_destroyed');
    const again = await connect({ secret: freshSecret() }, victim, `/api/v1/orgs/${vOrg}/connections`);
    expect(again.json().error.code).toBe('connection_key_destroyed');
    expect(
      await t.db.owner.selectFrom('org_keys').selectAll().where('org_id', '=', vOrg).executeTakeFirstOrThrow(),
    ).toMatchObject({ kek_sealed: null });
    const events = await t.db.owner
      .selectFrom('audit_events')
      .select('action')
      .where('org_id', '=', vOrg)
      .where('action', '=', 'vault.org_key_destroyed')
      .execute();
    expect(events).toHaveLength(1);
  });

  it("[D1] a key that no longer fits its provider's auth style is refused clearly until replaced", async () => {
    await admin.provider('acme-changing', server, { validation: undefined });
    const c = (await connect({ providerId: 'acme-changing', secret: freshSecret() })).json();
    await admin.provider('acme-changing', server, { authStyle: 'basic', validation: undefined });
    await expect(use(c.id)).rejects.toMatchObject({ code: 'connection_unreadable', status: 409 });
    const pair = { username: 'now-basic', password: freshSecret('pw_') };
    expect((await owner.api('PUT', `${base}/${c.id}/secret`, pair)).statusCode).toBe(200);
    server.accepted.add(`${pair.username}:${pair.password}`);
    expect(await use(c.id)).toBe(200);
  });

  it('[D3] the rewrap sees every organization key in a system transaction, under its own context', async () => {
    const kind = vaultFeature.sealedValues.find((v) => v.name === 'vault.org_key')!;
    const keys = await t.db.withSystem((tx) => kind.page(tx, undefined, 1000));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const keyring = parseKeyring(t.config.masterKeys!);
    for (const k of keys) expect(open(keyring, k.sealed, k.context)).toHaveLength(32);
    const first = keys[0]!;
    const moved = await t.db.withSystem((tx) => kind.replace(tx, first.key, 'not what it holds', first.sealed));
    expect(moved).toBe(false);
  });
});

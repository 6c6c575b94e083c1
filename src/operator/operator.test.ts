import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { verifyChain } from '../platform/audit/events.js';
import { createOperatorTokens } from './service.js';

/*
 * The operator identity: tokens made by `rampart operator tokens` (the same service, called here
 * directly), presented as `Authorization: Bearer rop_…` on an operator route.
 */

/** The default budget of failed tokens per address and 15 minutes. */
const FAILURES = 10;
const t = await fileTestApp({});
const tokens = createOperatorTokens({ db: t.db, clock: t.clock });
const ROUTE = '/api/v1/operator/clients';

let address = 0;
/** Each case its own address, so the failure limit of one does not reach another. */
const freshIp = () => `203.0.113.${++address}`;

const call = (authorization: string | undefined, remoteAddress = '203.0.113.250', url = ROUTE) =>
  t.app.inject({
    method: 'GET',
    url,
    headers: authorization === undefined ? {} : { authorization },
    remoteAddress,
  });

const systemEvents = () =>
  t.db.withSystem((tx) =>
    tx.selectFrom('audit_events').selectAll().where('stream', '=', 'system').orderBy('seq').execute(),
  );

describe('operator tokens', () => {
  it('[A10] a token is rop_ and 256 random bits, printed once and stored only as its SHA-256', async () => {
    const { token, info } = await tokens.create('deploy-bot');
    expect(token).toMatch(/^rop_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    const row = await t.db.withSystem((tx) =>
      tx.selectFrom('operator_tokens').selectAll().where('id', '=', info.id).executeTakeFirstOrThrow(),
    );
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token.slice(4));
    const listed = await tokens.list();
    expect(JSON.stringify(listed)).not.toContain(token.slice(4));
    expect(listed.find((x) => x.id === info.id)).toMatchObject({
      name: 'deploy-bot',
      lastUsedAt: null,
      revokedAt: null,
    });
  });

  it('[A10] a live token passes; its use is recorded (last used) and logged by name, never the token', async () => {
    const { token, info } = await tokens.create('ci-runner');
    const res = await call(`Bearer ${token}`, freshIp());
    expect(res.statusCode).toBe(200);
    const listed = (await tokens.list()).find((x) => x.id === info.id)!;
    expect(listed.lastUsedAt).not.toBeNull();
    expect(t.logs()).toContain('"operator":"ci-runner"');
    expect(t.logs()).not.toContain(token.slice(4));
  });

  it('[R6] no token, a malformed header or a made-up token: 401 operator_unauthorized, the same answer', async () => {
    const answers = [];
    for (const header of [undefined, 'Basic Zm9vOmJhcg==', 'Bearer', `Bearer rop_${'A'.repeat(43)}`, 'Bearer x']) {
      const res = await call(header, freshIp());
      expect(res.statusCode, String(header)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      answers.push({ code: res.json().error.code, message: res.json().error.message });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]!.code).toBe('operator_unauthorized');
  });

  it('[A10] a signed-in person (session cookie) and an organization API key are not operators', async () => {
    const people = accounts(t);
    const person = await people.signedIn(await people.verified());
    const asPerson = await person.api('GET', ROUTE);
    expect(asPerson.statusCode).toBe(401);
    expect(asPerson.json().error.code).toBe('operator_unauthorized');
    const orgId = (await person.api('POST', '/api/v1/orgs', { name: 'Not Operators' })).json().id;
    const key = (
      await person.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
        name: 'k',
        scopes: ['members.read'],
        expiresInDays: 1,
      })
    ).json().key as string;
    const asKey = await call(`Bearer ${key}`, freshIp());
    expect(asKey.statusCode).toBe(401);
    expect(asKey.json().error.code).toBe('operator_unauthorized');
    // An operator token is no organization API key either.
    const { token } = await tokens.create('not-a-key');
    const onOrgRoute = await call(`Bearer ${token}`, freshIp(), `/api/v1/orgs/${orgId}`);
    expect(onOrgRoute.statusCode).toBe(401);
  });

  it('[A8] wrong tokens from one address are refused with 429 after the limit, even a right one then', async () => {
    const { token } = await tokens.create('limit-check');
    const ip = freshIp();
    const wrong = `Bearer rop_${'B'.repeat(43)}`;
    for (let i = 0; i < FAILURES; i++) expect((await call(wrong, ip)).statusCode, `try ${i + 1}`).toBe(401);
    const refused = await call(wrong, ip);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await call(`Bearer ${token}`, ip)).statusCode).toBe(429);
    // Another address is not held up.
    expect((await call(`Bearer ${token}`, freshIp())).statusCode).toBe(200);
  });

  it('[A10] a revoked token is refused at once; revoke works by name or id; the name can be given again', async () => {
    const first = await tokens.create('rotating');
    expect((await call(`Bearer ${first.token}`, freshIp())).statusCode).toBe(200);
    await tokens.revoke('rotating');
    const res = await call(`Bearer ${first.token}`, freshIp());
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('operator_unauthorized');
    const second = await tokens.create('rotating');
    expect((await call(`Bearer ${second.token}`, freshIp())).statusCode).toBe(200);
    await tokens.revoke(second.info.id);
    expect((await call(`Bearer ${second.token}`, freshIp())).statusCode).toBe(401);
    await expect(tokens.revoke('rotating')).rejects.toMatchObject({ code: 'operator_token_not_found' });
    const listed = (await tokens.list()).filter((x) => x.name === 'rotating');
    expect(listed).toHaveLength(2);
    for (const x of listed) expect(x.revokedAt).not.toBeNull();
  });

  it('[A10] token names: one shape, one live token per name', async () => {
    for (const bad of ['', 'has space', 'ünïcode', 'a'.repeat(65), 'new\nline', '\u202eevil'])
      await expect(tokens.create(bad), JSON.stringify(bad)).rejects.toMatchObject({
        code: 'operator_token_name_invalid',
        status: 400,
      });
    await tokens.create('unique-name');
    await expect(tokens.create('unique-name')).rejects.toMatchObject({ code: 'operator_token_exists', status: 409 });
    await expect(tokens.revoke('no-such-token')).rejects.toMatchObject({ code: 'operator_token_not_found' });
  });

  it('[L1] creating and revoking tokens is audited in the system stream, and the chain verifies', async () => {
    const { info } = await tokens.create('audited');
    await tokens.revoke('audited');
    const events = (await systemEvents()).filter((e) => e.target === `operator_token:${info.id}`);
    expect(events.map((e) => e.action)).toEqual(['operator.token_created', 'operator.token_revoked']);
    expect(events[0]!.payload).toEqual({ name: 'audited' });
    const verdict = await t.db.withSystem((tx) => verifyChain(tx, 'system'));
    expect(verdict.ok).toBe(true);
  });
});

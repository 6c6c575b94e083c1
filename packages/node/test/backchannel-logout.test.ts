import { exportSPKI, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBackchannelLogoutHandler,
  createVerifier,
  type LogoutEvent,
  MemoryReplayStore,
  type RampartIdentity,
  SessionRevocations,
} from '../src/index.js';
import {
  AUDIENCE,
  CLIENT_ID,
  accessToken,
  logoutClaims,
  logoutToken,
  makeKey,
  sign,
  startIssuer,
  type TestIssuer,
  unsignedToken,
} from './issuer.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startIssuer();
});
afterAll(() => issuer.close());

function setup(options: { maxAgeSec?: number } = {}) {
  const events: LogoutEvent[] = [];
  const rejected: string[] = [];
  const verifier = createVerifier({ issuer: issuer.url, audience: AUDIENCE, fetch: issuer.fetch });
  const handle = createBackchannelLogoutHandler({
    issuer: issuer.url,
    clientId: CLIENT_ID,
    verifier,
    onLogout: (event) => {
      events.push(event);
    },
    onRejected: (reason) => rejected.push(reason),
    ...options,
  });
  return { handle, events, rejected, verifier };
}

const form = (token: string) => `logout_token=${encodeURIComponent(token)}`;

describe('createBackchannelLogoutHandler', () => {
  it('[S3] accepts a valid logout token, ends its session and answers 200 no-store', async () => {
    const { handle, events } = setup();
    const claims = logoutClaims(issuer);
    const answer = await handle(form(await sign(issuer, claims, { typ: 'logout+jwt' })));
    expect(answer).toEqual({ status: 200, headers: { 'cache-control': 'no-store' }, body: '' });
    expect(events).toEqual([{ sid: claims.sid, sub: claims.sub, jti: claims.jti }]);
  });

  it('[S3] takes the body as a string, URLSearchParams or a parsed object', async () => {
    const { handle, events } = setup();
    expect((await handle(form(await logoutToken(issuer)))).status).toBe(200);
    expect((await handle(new URLSearchParams({ logout_token: await logoutToken(issuer) }))).status).toBe(200);
    expect((await handle({ logout_token: await logoutToken(issuer) })).status).toBe(200);
    expect(events).toHaveLength(3);
  });

  it('[S3] a token with only sub or only sid is accepted; neither is refused', async () => {
    const { handle, events } = setup();
    expect((await handle(form(await logoutToken(issuer, { sid: undefined })))).status).toBe(200);
    expect((await handle(form(await logoutToken(issuer, { sub: undefined })))).status).toBe(200);
    expect(events.map((e) => [e.sid === null, e.sub === null])).toEqual([
      [true, false],
      [false, true],
    ]);
    const answer = await handle(form(await logoutToken(issuer, { sid: undefined, sub: undefined })));
    expect(answer.status).toBe(400);
  });

  it('[S3] refuses a logout token with a nonce (it would be an ID token)', async () => {
    const { handle, events } = setup();
    const answer = await handle(form(await logoutToken(issuer, { nonce: 'n-0S6_WzA2Mj' })));
    expect(answer).toMatchObject({ status: 400, headers: { 'cache-control': 'no-store' } });
    expect(answer.body).toMatchObject({ error: 'invalid_request' });
    expect(events).toEqual([]);
  });

  it('[S3] refuses a logout token without the back-channel event, or with a non-object event', async () => {
    const { handle, events } = setup();
    for (const events of [
      undefined,
      {},
      { 'http://schemas.openid.net/event/backchannel-logout': 'yes' },
      { 'http://schemas.openid.net/event/backchannel-logout': [] },
      { 'http://schemas.openid.net/event/other': {} },
      'http://schemas.openid.net/event/backchannel-logout',
    ]) {
      const answer = await handle(form(await logoutToken(issuer, { events })));
      expect(answer.status, JSON.stringify(events)).toBe(400);
    }
    expect(events).toEqual([]);
  });

  it('[S3] refuses a replayed jti', async () => {
    const { handle, events } = setup();
    const token = await logoutToken(issuer);
    expect((await handle(form(token))).status).toBe(200);
    const again = await handle(form(token));
    expect(again.status).toBe(400);
    // A new token reusing the jti is a replay too.
    const sameJti = await logoutToken(issuer, { jti: events[0]!.jti });
    expect((await handle(form(sameJti))).status).toBe(400);
    expect(events).toHaveLength(1);
  });

  it('[S3] refuses a too old iat, an iat in the future and an expired token', async () => {
    const { handle, events } = setup({ maxAgeSec: 120 });
    const now = Math.floor(Date.now() / 1000);
    for (const overrides of [
      { iat: now - 600, exp: now + 60 },
      { iat: now + 600, exp: now + 700 },
      { iat: now - 100, exp: now - 30 },
      { exp: undefined },
      { iat: undefined },
    ]) {
      expect((await handle(form(await logoutToken(issuer, overrides)))).status, JSON.stringify(overrides)).toBe(400);
    }
    expect(events).toEqual([]);
  });

  it('[S3] refuses a wrong aud, a wrong iss, a missing jti', async () => {
    const { handle, events } = setup();
    for (const overrides of [{ aud: 'another-client' }, { aud: AUDIENCE }, { iss: 'https://evil.example.com' }]) {
      expect((await handle(form(await logoutToken(issuer, overrides)))).status).toBe(400);
    }
    expect((await handle(form(await logoutToken(issuer, { jti: undefined })))).status).toBe(400);
    // aud as an array containing the client_id is fine.
    expect((await handle(form(await logoutToken(issuer, { aud: ['x', CLIENT_ID] })))).status).toBe(200);
    expect(events).toHaveLength(1);
  });

  it('[S3] refuses a logout token typed JWT or at+jwt, and an access token posted as a logout token', async () => {
    const { handle } = setup();
    for (const typ of ['JWT', 'at+jwt']) {
      expect((await handle(form(await logoutToken(issuer, {}, { typ })))).status).toBe(400);
    }
    expect((await handle(form(await accessToken(issuer, { aud: CLIENT_ID })))).status).toBe(400);
  });

  it('[S3] refuses alg none, HS256 with the public key as secret, and a foreign signing key', async () => {
    const { handle } = setup();
    const none = unsignedToken({ typ: 'logout+jwt', kid: issuer.current.kid }, logoutClaims(issuer));
    expect((await handle(form(none))).status).toBe(400);
    const pem = await exportSPKI((await importJWK(issuer.current.publicJwk, 'ES256')) as CryptoKey);
    const hs = await new SignJWT(logoutClaims(issuer))
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt', kid: issuer.current.kid })
      .sign(new TextEncoder().encode(pem));
    expect((await handle(form(hs))).status).toBe(400);
    const forger = await makeKey('ES256', issuer.current.kid);
    expect((await handle(form(await logoutToken(issuer, {}, { key: forger })))).status).toBe(400);
  });

  it('[S3] refuses a body without exactly one logout_token', async () => {
    const { handle } = setup();
    const token = await logoutToken(issuer);
    for (const body of ['', 'token=x', `${form(token)}&${form(token)}`, undefined, null, { logout_token: 3 }]) {
      expect((await handle(body as never)).status).toBe(400);
    }
  });

  it('[S3] when onLogout fails the answer is 400 and the issuer may retry the same token', async () => {
    let fail = true;
    const ended: LogoutEvent[] = [];
    const handle = createBackchannelLogoutHandler({
      issuer: issuer.url,
      clientId: CLIENT_ID,
      jwks: { keys: issuer.published.map((k) => k.publicJwk) },
      onLogout: (event) => {
        if (fail) throw new Error('database down');
        ended.push(event);
      },
    });
    const token = await logoutToken(issuer);
    expect((await handle(form(token))).status).toBe(400);
    fail = false;
    expect((await handle(form(token))).status).toBe(200);
    expect(ended).toHaveLength(1);
  });

  it('[S3] a shared replay store is consulted: another instance saw the jti first', async () => {
    const store = new MemoryReplayStore();
    const make = () =>
      createBackchannelLogoutHandler({
        issuer: issuer.url,
        clientId: CLIENT_ID,
        jwks: `${issuer.url}/jwks`,
        fetch: issuer.fetch,
        replayStore: store,
        onLogout: () => {},
      });
    const [a, b] = [make(), make()];
    const token = await logoutToken(issuer);
    expect((await a(form(token))).status).toBe(200);
    expect((await b(form(token))).status).toBe(400);
  });

  it('[S3] the in-memory replay store is bounded in size and forgets expired entries', () => {
    const store = new MemoryReplayStore({ maxEntries: 3 });
    const later = Date.now() + 60_000;
    expect(store.claim('a', later)).toBe(true);
    expect(store.claim('a', later)).toBe(false);
    expect(store.claim('old', Date.now() - 1)).toBe(true);
    expect(store.claim('old', later)).toBe(true); // expired: may be claimed again
    store.claim('b', later);
    store.claim('c', later);
    store.claim('d', later);
    expect(store.size).toBeLessThanOrEqual(3);
  });
});

describe('SessionRevocations', () => {
  const identity = (over: Partial<RampartIdentity>) =>
    ({ userId: 'u1', sessionId: 's1', issuedAt: new Date(Date.now() - 10_000), ...over }) as RampartIdentity;

  it('[S3] a logged-out sid is revoked; other sessions are not', () => {
    const revocations = new SessionRevocations();
    revocations.record({ sid: 's1', sub: 'u1' });
    expect(revocations.isRevoked(identity({}))).toBe(true);
    expect(revocations.isRevoked(identity({ sessionId: 's2' }))).toBe(false);
  });

  it('[S3] a sub-only logout revokes that user’s tokens issued before it, not later ones', () => {
    const revocations = new SessionRevocations();
    revocations.record({ sub: 'u1' });
    expect(revocations.isRevoked(identity({ sessionId: 's9' }))).toBe(true);
    expect(revocations.isRevoked(identity({ issuedAt: new Date(Date.now() + 5_000) }))).toBe(false);
    expect(revocations.isRevoked(identity({ userId: 'u2' }))).toBe(false);
  });

  it('[S3] revocations expire after their ttl and are bounded', async () => {
    const revocations = new SessionRevocations({ ttlSec: 0.05, maxEntries: 2 });
    revocations.revokeSession('s1');
    revocations.revokeSession('s2');
    revocations.revokeSession('s3');
    expect(revocations.isRevoked(identity({ sessionId: 's1' }))).toBe(false); // dropped: bound
    expect(revocations.isRevoked(identity({ sessionId: 's3' }))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(revocations.isRevoked(identity({ sessionId: 's3' }))).toBe(false);
  });
});

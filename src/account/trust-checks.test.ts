import { describe, expect, it, vi } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { rowCount } from '../../test/helpers/app.js';
import { trustTestApp } from '../../test/helpers/trust.js';
import { FEATURES } from '../features.js';
import { accountFeature } from './index.js';

// Faults the check must notice: a revocation that reports success and changes nothing; a listing without IPs.
const broken = vi.hoisted(() => ({ revocation: false, listing: false }));
vi.mock('../sessions/repository.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../sessions/repository.js')>();
  return {
    ...real,
    revokeSessions: async (...args: Parameters<typeof real.revokeSessions>) => {
      if (!broken.revocation) return real.revokeSessions(...args);
      return [{ id: args[1].sessionId ?? 'others', token_hash: 'nothing' }];
    },
    liveSessionsOf: async (...args: Parameters<typeof real.liveSessionsOf>) => {
      const rows = await real.liveSessionsOf(...args);
      return broken.listing ? rows.map((r) => ({ ...r, ip: null })) : rows;
    },
  };
});

const { t, check } = await trustTestApp();
const { verified, signedIn } = accounts(t);

async function counts() {
  const one = (table: 'sessions' | 'audit_events') => rowCount(t, table);
  const revoked = await t.db.owner.selectFrom('sessions').select('id').where('revoked_at', 'is not', null).execute();
  return { sessions: await one('sessions'), audit: await one('audit_events'), revoked: revoked.length };
}

async function faulty(fault: keyof typeof broken) {
  broken[fault] = true;
  try {
    return await check('account-sessions');
  } finally {
    broken[fault] = false;
  }
}

describe('S4 live check: the sessions page and API', () => {
  it('[S4] sessions check is not configured while no one has signed in, after the routes refused', async () => {
    expect(await check('account-sessions')).toEqual({
      status: 'not_configured',
      detail:
        'no one has signed in yet: no account to rehearse the listing on; ' +
        'the page and API refuse a caller without a session (7 routes)',
    });
  });

  it('[S4] sessions check passes on a real account and leaves its sessions and audit log as they were', async () => {
    const email = await verified();
    const [laptop, phone] = [await signedIn(email), await signedIn(email)]; // "all others": these and one rehearsed
    const before = await counts();
    expect(await check('account-sessions')).toMatchObject({
      status: 'passing',
      detail: expect.stringMatching(/3 sign-ins from 3 devices listed .* "all others" ended 3;/),
    });
    expect(await counts()).toEqual(before);
    for (const client of [laptop, phone]) expect((await client.api('GET', '/api/v1/me')).statusCode).toBe(200);
  });

  it('[S4] sessions check fails when a revoked session still opens', async () => {
    expect(await faulty('revocation')).toEqual({
      status: 'failing',
      detail: 'a session revoked by its owner still opens',
    });
  });

  it('[S4] sessions check fails when the list shows no IP', async () => {
    expect(await faulty('listing')).toEqual({ status: 'failing', detail: "a session's IP shows as null" });
    expect(await check('account-sessions')).toMatchObject({ status: 'passing' });
  });

  it('[S4] sessions check fails when the sessions page and API are not there', async () => {
    const features = FEATURES.map((f) => (f === accountFeature ? { ...accountFeature, routes: undefined } : f));
    const bare = await trustTestApp({}, { features });
    expect(await bare.check('account-sessions')).toEqual({
      status: 'failing',
      detail: 'GET /account/security does not exist (404)',
    });
  });
});

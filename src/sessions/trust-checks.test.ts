import { describe, expect, it, vi } from 'vitest';
import { accounts } from '../../test/helpers/accounts.js';
import { enrollTotp } from '../../test/helpers/mfa.js';
import { rowCount } from '../../test/helpers/app.js';
import { trustTestApp } from '../../test/helpers/trust.js';

// A rotation that writes nothing: the step-up "rotates" but the old identifier stays the session's.
const broken = vi.hoisted(() => ({ rotation: false }));
vi.mock('./repository.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./repository.js')>();
  return {
    ...real,
    replaceTokenHash: (...args: Parameters<typeof real.replaceTokenHash>) =>
      broken.rotation ? Promise.resolve() : real.replaceTokenHash(...args),
  };
});

const { t, check } = await trustTestApp();
const { verified, signedIn } = accounts(t);

async function counts() {
  const one = (table: 'sessions' | 'audit_events') => rowCount(t, table);
  return { sessions: await one('sessions'), audit: await one('audit_events') };
}

describe('S2 live check: session identifier rotation', () => {
  it('[S2] rotation check is not configured while no one has ever signed in', async () => {
    expect(await check('session-id-rotation')).toMatchObject({ status: 'not_configured' });
  });

  it('[S2] rotation check passes on a real account and leaves no session, audit event or signed-out user', async () => {
    const client = await signedIn(await verified());
    const before = await counts();
    expect(await check('session-id-rotation')).toMatchObject({
      status: 'passing',
      detail: expect.stringMatching(/fresh identifier; a step-up replaced it; each time the old identifier stopped/),
    });
    expect(await counts()).toEqual(before);
    expect((await client.api('GET', '/api/v1/me')).statusCode).toBe(200);
  });

  it('[S2] rotation check also rehearses the second factor of a sign-in on an account with TOTP', async () => {
    const client = await signedIn(
      (await t.db.owner.selectFrom('users').select('email').executeTakeFirstOrThrow()).email,
    );
    await enrollTotp(t, client);
    const before = await counts();
    expect(await check('session-id-rotation')).toMatchObject({
      status: 'passing',
      detail: expect.stringMatching(/its second factor replaced it; a step-up replaced it/),
    });
    expect(await counts()).toEqual(before);
  });

  it('[S2] rotation check fails when a step-up leaves the old identifier working', async () => {
    broken.rotation = true;
    try {
      expect(await check('session-id-rotation')).toEqual({
        status: 'failing',
        detail: 'after a step-up the old identifier still opens the session',
      });
    } finally {
      broken.rotation = false;
    }
    expect(await check('session-id-rotation')).toMatchObject({ status: 'passing' });
  });
});

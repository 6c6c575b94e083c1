import { describe, expect, it } from 'vitest';
import { trustTestApp } from './helpers/trust.js';

const { check } = await trustTestApp();

describe('the trust test helper', () => {
  it('[X8] runs one check by id, and refuses an unknown id', async () => {
    expect(await check('session-cookie')).toMatchObject({ status: 'passing' });
    await expect(check('no-such-check')).rejects.toThrow(/no trust check/);
  });
});

import { describe, expect, it } from 'vitest';
import { passwordProblem } from './password-policy.js';

describe('password strength, checked off the event loop', () => {
  it('[A1] a guessable password is refused with the reason, a strong one passes, the address counts', async () => {
    expect(await passwordProblem('short')).toMatch(/at least 12 characters \(this has 5\)/);
    expect(await passwordProblem('password1234')).toMatch(/\.\s\S/);
    expect(await passwordProblem('violet tractor moonbeam cactus')).toBeNull();
    expect(await passwordProblem('ramsayfrobisher', { email: 'ramsay.frobisher@example.com' })).not.toBeNull();
    expect(await passwordProblem('x'.repeat(257))).toMatch(/at most 256/);
  });

  it('[A1] an input keeping the estimator busy past its deadline is refused; the event loop stays free', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const slow = '1234567890'.repeat(7);
    const answer = await passwordProblem(slow, {}, { deadlineMs: 50 });
    clearInterval(ticker);
    expect(answer).toMatch(/takes too long to check/);
    expect(ticks).toBeGreaterThan(3); // timers ran while the worker computed
    // The stuck worker was replaced: the next check is answered normally.
    expect(await passwordProblem('violet tractor moonbeam cactus')).toBeNull();
  });

  it('[A1] checks queued behind a stuck one are still answered', async () => {
    const [stuck, fine] = await Promise.all([
      passwordProblem('1234567890'.repeat(7), {}, { deadlineMs: 50 }),
      passwordProblem('violet tractor moonbeam cactus'),
    ]);
    expect(stuck).toMatch(/takes too long/);
    expect(fine).toBeNull();
  });
});

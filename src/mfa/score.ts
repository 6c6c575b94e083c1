import type { FactorState } from './factors.js';
import { hasSecondFactor } from './factors.js';

export const PASSWORD_FRESH_DAYS = 90;

export interface ScoreStep {
  text: string;
  href: string;
  points: number;
}

export interface SecurityScore {
  score: 75 | 90 | 100;
  steps: ScoreStep[];
}

/**
 * A9: 75 for an account; 90 with a second factor; 100 with a second factor and a password changed
 * in the last 90 days (or no password at all). The steps are what would raise it, in order.
 */
export function securityScore(f: FactorState, now: Date): SecurityScore {
  const twoFactor = hasSecondFactor(f);
  const passwordFresh =
    !f.hasPassword ||
    (f.passwordChangedAt !== null && now.getTime() - f.passwordChangedAt.getTime() < PASSWORD_FRESH_DAYS * 86_400_000);
  const steps: ScoreStep[] = [];
  if (!twoFactor) {
    steps.push({ text: 'Add a passkey or an authenticator app', href: '/account/security#two-factor', points: 15 });
  }
  if (!passwordFresh) {
    steps.push({
      text: `Change your password (last changed more than ${PASSWORD_FRESH_DAYS} days ago)`,
      href: '/account/security#password',
      points: 10,
    });
  }
  const score = !twoFactor ? 75 : passwordFresh ? 100 : 90;
  return { score, steps: score === 100 ? [] : steps };
}

import type { Tx } from '../platform/db/database.js';
import { factorsOf } from './repository.js';

export interface FactorState {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
  hasPassword: boolean;
  passwordChangedAt: Date | null;
}

export const hasSecondFactor = (f: Pick<FactorState, 'totp' | 'passkeys'>) => f.totp || f.passkeys > 0;

/** Whether the person has a second factor (the sign-in and organization-policy question). */
export async function userHasSecondFactor(tx: Tx, userId: string): Promise<boolean> {
  return hasSecondFactor(await factorsOf(tx, userId));
}

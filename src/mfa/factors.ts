import type { Tx } from '../platform/db/database.js';

export interface FactorState {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
  hasPassword: boolean;
  passwordChangedAt: Date | null;
}

export const hasSecondFactor = (f: Pick<FactorState, 'totp' | 'passkeys'>) => f.totp || f.passkeys > 0;

/** A person's second factors, read now (never cached: a removed factor is gone at once). */
export async function factorsOf(tx: Tx, userId: string): Promise<FactorState> {
  const row = await tx
    .selectFrom('users')
    .select((eb) => [
      'users.password_hash',
      'users.password_changed_at',
      eb
        .exists(
          eb
            .selectFrom('totp_credentials')
            .select('user_id')
            .whereRef('user_id', '=', 'users.id')
            .where('confirmed_at', 'is not', null),
        )
        .as('totp'),
      eb
        .selectFrom('passkeys')
        .select((e) => e.fn.countAll<string>().as('n'))
        .whereRef('user_id', '=', 'users.id')
        .as('passkeys'),
      eb
        .selectFrom('recovery_codes')
        .select((e) => e.fn.countAll<string>().as('n'))
        .whereRef('user_id', '=', 'users.id')
        .where('used_at', 'is', null)
        .as('codes'),
    ])
    .where('users.id', '=', userId)
    .executeTakeFirstOrThrow();
  return {
    totp: Boolean(row.totp),
    passkeys: Number(row.passkeys ?? 0),
    recoveryCodesLeft: Number(row.codes ?? 0),
    hasPassword: row.password_hash !== null,
    passwordChangedAt: row.password_changed_at,
  };
}

/** Whether the person has a second factor (the sign-in and organization-policy question). */
export async function userHasSecondFactor(tx: Tx, userId: string): Promise<boolean> {
  return hasSecondFactor(await factorsOf(tx, userId));
}

import type { Tx } from '../platform/db/database.js';
import type { ChallengePurpose } from '../platform/db/tables.js';
import type { FactorState } from './factors.js';

/*
 * The queries of the mfa feature: authenticator-app secrets, recovery codes, passkeys and their
 * WebAuthn challenges (and the two reads of `users` the ceremonies need). Each takes the caller's
 * transaction first; the rules, audit events and transaction boundaries stay in the services.
 */

// --- factors ---

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

// --- users (read only) ---

/** The password hash a step-up with a password is checked against. */
export function passwordHashOf(tx: Tx, userId: string) {
  return tx.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
}

/** The user a passwordless sign-in signs in. */
export function signInUserOf(tx: Tx, userId: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'email', 'email_verified_at'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

// --- totp_credentials ---

/** The confirmed credential, locked for the check (one code, one use). */
export function lockConfirmedTotp(tx: Tx, userId: string) {
  return tx
    .selectFrom('totp_credentials')
    .selectAll()
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .forUpdate()
    .executeTakeFirst();
}

/** The credential, confirmed or not, locked for the confirming code. */
export function lockTotp(tx: Tx, userId: string) {
  return tx.selectFrom('totp_credentials').selectAll().where('user_id', '=', userId).forUpdate().executeTakeFirst();
}

export function totpConfirmedAt(tx: Tx, userId: string) {
  return tx.selectFrom('totp_credentials').select('confirmed_at').where('user_id', '=', userId).executeTakeFirst();
}

export function totpSecretOf(tx: Tx, userId: string) {
  return tx
    .selectFrom('totp_credentials')
    .select(['secret_sealed', 'confirmed_at'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/** Stores a new, unconfirmed secret, replacing an unfinished one. */
export async function upsertPendingTotp(tx: Tx, userId: string, secretSealed: string, now: Date): Promise<void> {
  const row = {
    secret_sealed: secretSealed,
    created_at: now,
    confirmed_at: null,
    last_used_step: null,
  };
  await tx
    .insertInto('totp_credentials')
    .values({ user_id: userId, ...row })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
    .execute();
}

export async function setTotpLastUsedStep(tx: Tx, userId: string, step: number): Promise<void> {
  await tx.updateTable('totp_credentials').set({ last_used_step: step }).where('user_id', '=', userId).execute();
}

export async function confirmTotpCredential(tx: Tx, userId: string, now: Date, step: number): Promise<void> {
  await tx
    .updateTable('totp_credentials')
    .set({ confirmed_at: now, last_used_step: step })
    .where('user_id', '=', userId)
    .execute();
}

/** Deletes the confirmed credential; false when there was none. */
export async function deleteConfirmedTotp(tx: Tx, userId: string): Promise<boolean> {
  const removed = await tx
    .deleteFrom('totp_credentials')
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .returning('user_id')
    .executeTakeFirst();
  return removed !== undefined;
}

// --- recovery_codes ---

/** Replaces every recovery code of the user with these hashes (delete, then insert). */
export async function replaceRecoveryCodeHashes(tx: Tx, userId: string, hashes: string[], now: Date): Promise<void> {
  await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await tx
    .insertInto('recovery_codes')
    .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, created_at: now })))
    .execute();
}

/** Marks an unused code used; false when no unused code had this hash. */
export async function spendRecoveryCode(tx: Tx, userId: string, codeHash: string, now: Date): Promise<boolean> {
  const used = await tx
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return used !== undefined;
}

/** A4: how many recovery codes are stored, and how many of them are not a SHA-256 hex digest (kept readable). */
export async function recoveryCodeStorage(tx: Tx): Promise<{ stored: number; unhashed: number }> {
  const row = await tx
    .selectFrom('recovery_codes')
    .select((eb) => [
      eb.fn.countAll<string>().as('stored'),
      eb.fn.count<string>('id').filterWhere('code_hash', '!~', '^[0-9a-f]{64}$').as('unhashed'),
    ])
    .executeTakeFirstOrThrow();
  return { stored: Number(row.stored), unhashed: Number(row.unhashed) };
}

/** Deletes every recovery code of the user; true when there were any. */
export async function deleteRecoveryCodes(tx: Tx, userId: string): Promise<boolean> {
  return (await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst()).numDeletedRows > 0n;
}

// --- webauthn_challenges ---

/** Drops expired challenges, then stores this one. */
export async function insertChallenge(
  tx: Tx,
  challenge: { challenge: string; purpose: ChallengePurpose; sessionId: string | null; now: Date; expiresAt: Date },
): Promise<void> {
  await tx.deleteFrom('webauthn_challenges').where('expires_at', '<', challenge.now).execute();
  await tx
    .insertInto('webauthn_challenges')
    .values({
      challenge: challenge.challenge,
      purpose: challenge.purpose,
      session_id: challenge.sessionId,
      created_at: challenge.now,
      expires_at: challenge.expiresAt,
    })
    .execute();
}

/** Deletes the challenge if it is for this purpose and session and not expired; true when it was. */
export async function deleteLiveChallenge(
  tx: Tx,
  challenge: string,
  purpose: ChallengePurpose,
  sessionId: string | null,
  now: Date,
): Promise<boolean> {
  let q = tx
    .deleteFrom('webauthn_challenges')
    .where('challenge', '=', challenge)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', now);
  q = sessionId ? q.where('session_id', '=', sessionId) : q.where('session_id', 'is', null);
  return (await q.returning('challenge').executeTakeFirst()) !== undefined;
}

// --- passkeys ---

export function credentialsOf(tx: Tx, userId: string) {
  return tx.selectFrom('passkeys').select(['credential_id', 'transports']).where('user_id', '=', userId).execute();
}

export function passkeyByCredentialId(tx: Tx, credentialId: string) {
  return tx.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
}

export function passkeysOf(tx: Tx, userId: string) {
  return tx
    .selectFrom('passkeys')
    .select(['id', 'name', 'created_at', 'last_used_at', 'backed_up'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
}

/**
 * Records a use of the passkey; false when the counter did not move forward. 0 means "no counter":
 * only a non-zero new counter is required to be greater than the stored one.
 */
export async function recordPasskeyUse(
  tx: Tx,
  passkeyId: string,
  use: { counter: number; backedUp: boolean; now: Date },
): Promise<boolean> {
  let q = tx
    .updateTable('passkeys')
    .set({ counter: use.counter, last_used_at: use.now, backed_up: use.backedUp })
    .where('id', '=', passkeyId);
  if (use.counter > 0) q = q.where('counter', '<', use.counter);
  return (await q.returning('id').executeTakeFirst()) !== undefined;
}

/** Stores a new passkey; undefined when its credential id is already registered. */
export function insertPasskey(
  tx: Tx,
  passkey: {
    userId: string;
    credentialId: string;
    publicKey: Buffer;
    counter: number;
    transports: string[];
    name: string;
    deviceType: string;
    backedUp: boolean;
    now: Date;
  },
) {
  return tx
    .insertInto('passkeys')
    .values({
      user_id: passkey.userId,
      credential_id: passkey.credentialId,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: passkey.transports,
      name: passkey.name,
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      created_at: passkey.now,
    })
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning(['id', 'name', 'created_at', 'last_used_at', 'backed_up'])
    .executeTakeFirst();
}

/** Renames one of the user's passkeys; false when the user has no such passkey. */
export async function renamePasskey(tx: Tx, userId: string, passkeyId: string, name: string): Promise<boolean> {
  const row = await tx
    .updateTable('passkeys')
    .set({ name })
    .where('id', '=', passkeyId)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes one of the user's passkeys; its name, or undefined when the user has no such passkey. */
export async function deletePasskey(tx: Tx, userId: string, passkeyId: string): Promise<string | undefined> {
  const row = await tx
    .deleteFrom('passkeys')
    .where('id', '=', passkeyId)
    .where('user_id', '=', userId)
    .returning('name')
    .executeTakeFirst();
  return row?.name;
}

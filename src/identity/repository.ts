import type { Insertable } from 'kysely';
import type { Tx } from '../platform/db/database.js';
import type { EmailTokenPurpose, EmailTokensTable, UsersTable } from '../platform/db/tables.js';

/*
 * The queries identity runs on the tables it owns (users, email_tokens), each taking the
 * transaction first. The rules that decide when to run them live in service.ts and beside it;
 * sessions and audit events go through their own feature's API and the platform, never here.
 */

// ---- users ----

/** Inserts an account unless the address is taken; undefined when it was (the caller decides what that means). */
export function insertUserUnlessTaken(tx: Tx, row: Insertable<UsersTable>) {
  return tx
    .insertInto('users')
    .values(row)
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst();
}

/** The account with this address; throws when there is none. */
export function getUserIdByEmail(tx: Tx, email: string) {
  return tx.selectFrom('users').select(['id']).where('email', '=', email).executeTakeFirstOrThrow();
}

/** The account with this address, if any. */
export function findUserIdByEmail(tx: Tx, email: string) {
  return tx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
}

/** The account with this address, row-locked until the transaction ends. */
export function lockUserByEmail(tx: Tx, email: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'email_verified_at'])
    .where('email', '=', email)
    .forUpdate()
    .executeTakeFirst();
}

/** What a password sign-in needs of the account with this address, if any. */
export function findUserForSignIn(tx: Tx, email: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'email', 'password_hash', 'email_verified_at'])
    .where('email', '=', email)
    .executeTakeFirst();
}

/** What an external sign-in needs of an account, by id, if it exists. */
export function findUserForSignInById(tx: Tx, userId: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'email', 'email_verified_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
}

/** The account's address and password hash; throws when there is no such account. */
export function getUserCredentials(tx: Tx, userId: string) {
  return tx
    .selectFrom('users')
    .select(['id', 'email', 'password_hash'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

/** The account's address; throws when there is no such account. */
export function getUserEmail(tx: Tx, userId: string) {
  return tx.selectFrom('users').select(['id', 'email']).where('id', '=', userId).executeTakeFirstOrThrow();
}

export async function markEmailVerified(tx: Tx, userId: string, at: Date): Promise<void> {
  await tx.updateTable('users').set({ email_verified_at: at }).where('id', '=', userId).execute();
}

/** Replaces the hash of the same password (a rehash): the password did not change. */
export async function rehashPassword(tx: Tx, userId: string, passwordHash: string): Promise<void> {
  await tx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
}

/** Sets a new password. */
export async function setPassword(tx: Tx, userId: string, passwordHash: string, changedAt: Date): Promise<void> {
  await tx
    .updateTable('users')
    .set({ password_hash: passwordHash, password_changed_at: changedAt })
    .where('id', '=', userId)
    .execute();
}

/** Moves the account to a new address, verified at `verifiedAt`. */
export async function setEmail(tx: Tx, userId: string, email: string, verifiedAt: Date): Promise<void> {
  await tx.updateTable('users').set({ email, email_verified_at: verifiedAt }).where('id', '=', userId).execute();
}

// ---- mailed links (email_tokens) ----

export async function insertLink(tx: Tx, row: Insertable<EmailTokensTable>): Promise<void> {
  await tx.insertInto('email_tokens').values(row).execute();
}

/** Marks every unused link of one purpose of the account used. */
export async function spendLinksOfPurpose(
  tx: Tx,
  userId: string,
  purpose: EmailTokenPurpose,
  now: Date,
): Promise<void> {
  await tx
    .updateTable('email_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}

/** Marks every unused sign-in link (magic link, password reset) of the account used. */
export async function spendSignInLinks(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx
    .updateTable('email_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', 'in', ['magic_link', 'password_reset'])
    .where('used_at', 'is', null)
    .execute();
}

/** Marks every unused link of the account used, whatever its purpose. */
export async function spendAllLinks(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx
    .updateTable('email_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .execute();
}

/** Marks one link used. */
export async function spendLink(tx: Tx, linkId: string, now: Date): Promise<void> {
  await tx.updateTable('email_tokens').set({ used_at: now }).where('id', '=', linkId).execute();
}

/** A link of this purpose by its token hash, with its account, row-locked until the transaction ends. */
export function lockLinkWithUser(tx: Tx, tokenHash: string, purpose: EmailTokenPurpose) {
  return tx
    .selectFrom('email_tokens')
    .innerJoin('users', 'users.id', 'email_tokens.user_id')
    .select([
      'email_tokens.id',
      'email_tokens.expires_at',
      'email_tokens.used_at',
      'email_tokens.new_email',
      'users.id as user_id',
      'users.email',
      'users.email_verified_at',
    ])
    .where('email_tokens.token_hash', '=', tokenHash)
    .where('email_tokens.purpose', '=', purpose)
    .forUpdate()
    .executeTakeFirst();
}

/** A link of this purpose by its token hash, read without a lock (used or not, expired or not). */
export function findLink(tx: Tx, tokenHash: string, purpose: EmailTokenPurpose) {
  return tx
    .selectFrom('email_tokens')
    .select(['created_at', 'expires_at', 'used_at', 'new_email'])
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .executeTakeFirst();
}

/** An unused, unexpired link of this purpose for the account, created after `since`, if any. */
export function latestLiveLink(tx: Tx, userId: string, purpose: EmailTokenPurpose, now: Date, since: Date) {
  return tx
    .selectFrom('email_tokens')
    .select('id')
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where('created_at', '>', since)
    .executeTakeFirst();
}

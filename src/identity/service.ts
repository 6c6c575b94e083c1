import type { RequestContext } from '../platform/request-context.js';
import type { Session } from '../sessions/index.js';
import type { IdentityDeps, SignedIn } from './deps.js';
import {
  createExternalAccount,
  type ExternalAccount,
  type SignInOption,
  type SignInOptionSource,
  signInExternal,
  type Within,
} from './external.js';
import { confirmEmailChange, emailChangeTarget, requestEmailChange } from './email-change.js';
import { changePassword, requestPasswordReset, resetLinkIsValid, resetPassword } from './passwords.js';
import {
  requestMagicLink,
  resendVerification,
  signInWithMagicLink,
  signInWithPassword,
  signUp,
  verifyEmail,
} from './sign-in.js';

/*
 * The identity rules, as named functions of their deps: sign-in.ts (sign-up, verification,
 * password and magic-link sign-in), passwords.ts (reset and change), email-change.ts, and links.ts
 * (the mailed links they share). Their queries are in repository.ts.
 */

export { type IdentityDeps, normalizeEmail, type SignedIn } from './deps.js';
export type { ExternalAccount, SignInOption, SignInOptionSource, Within } from './external.js';

/** A1-A3, S2: accounts, passwords, verified addresses and mailed links. */
export interface IdentityService {
  /** A1. Answers the same for a new and an existing address; the existing owner gets a notice instead. */
  signUp(email: string, password: string, context: RequestContext): Promise<void>;
  /** A1: the mailed link proves the address. */
  verifyEmail(token: string, context: RequestContext): Promise<{ userId: string }>;
  /** Answers the same whatever the address; mails only an existing, unverified account. */
  resendVerification(email: string, context: RequestContext): Promise<void>;
  /** Password sign-in: every failure answers invalid_credentials after one Argon2id verification. */
  signInWithPassword(email: string, password: string, context: RequestContext): Promise<SignedIn>;
  /** A2. Answers the same whether or not the account exists. */
  requestMagicLink(email: string, context: RequestContext): Promise<void>;
  /** A2: single use, 15 minutes; using it also verifies the address. */
  signInWithMagicLink(token: string, context: RequestContext): Promise<SignedIn>;
  /** A3. Answers the same whether or not the account exists. */
  requestPasswordReset(email: string, context: RequestContext): Promise<void>;
  /** Checks a reset link without using it, so the form can say at once that it expired. */
  resetLinkIsValid(token: string): Promise<boolean>;
  /** The address an unused email-change link would move its account to, so the page can name it. */
  emailChangeTarget(token: string): Promise<string | undefined>;
  /** A3: sets the password, signs out every session, mails a notice, and signs this browser in. */
  resetPassword(token: string, password: string, context: RequestContext): Promise<SignedIn>;
  /** Needs the current password; signs out every other session and mails a notice. */
  changePassword(session: Session, current: string, next: string, context: RequestContext): Promise<void>;
  /** S2: mails a link to the new address (step-up); answers the same whether or not that address is taken. */
  requestEmailChange(session: Session, newEmail: string, context: RequestContext): Promise<void>;
  /** S2: the link from the new address moves the account there (verified), and the old address is told. */
  confirmEmailChange(token: string, context: RequestContext): Promise<{ userId: string; email: string }>;
  /** Registered at start-up by features that offer another way to sign in: buttons on the sign-in page. */
  addSignInOptions(source: SignInOptionSource): void;
  /** The other ways to sign in, as the registered features list them now. */
  signInOptions(): Promise<SignInOption[]>;
  /**
   * A7: a new account, verified, without a password, for an address an upstream provider verified; `within` runs in
   * its transaction. When the address already has an account, names it and changes nothing (never linked by address).
   */
  createExternalAccount(email: string, context: RequestContext, within: Within): Promise<ExternalAccount>;
  /** A7: signs in the account an upstream identity is linked to, exactly as a password sign-in would. */
  signInExternal(userId: string, context: RequestContext, within: Within): Promise<SignedIn>;
}

export function createIdentityService(deps: IdentityDeps): IdentityService {
  const optionSources: SignInOptionSource[] = [];
  return {
    signUp: (email, password, context) => signUp(deps, email, password, context),
    verifyEmail: (token, context) => verifyEmail(deps, token, context),
    resendVerification: (email, context) => resendVerification(deps, email, context),
    signInWithPassword: (email, password, context) => signInWithPassword(deps, email, password, context),
    requestMagicLink: (email, context) => requestMagicLink(deps, email, context),
    signInWithMagicLink: (token, context) => signInWithMagicLink(deps, token, context),
    requestPasswordReset: (email, context) => requestPasswordReset(deps, email, context),
    resetLinkIsValid: (token) => resetLinkIsValid(deps, token),
    emailChangeTarget: (token) => emailChangeTarget(deps, token),
    resetPassword: (token, password, context) => resetPassword(deps, token, password, context),
    changePassword: (session, current, next, context) => changePassword(deps, session, current, next, context),
    requestEmailChange: (session, newEmail, context) => requestEmailChange(deps, session, newEmail, context),
    confirmEmailChange: (token, context) => confirmEmailChange(deps, token, context),
    addSignInOptions: (source) => {
      optionSources.push(source);
    },
    signInOptions: async () => (await Promise.all(optionSources.map((source) => source()))).flat(),
    createExternalAccount: (email, context, within) => createExternalAccount(deps, email, context, within),
    signInExternal: (userId, context, within) => signInExternal(deps, userId, context, within),
  };
}

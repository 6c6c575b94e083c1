import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import type { DeviceTokens } from '../platform/crypto/device-tokens.js';
import type { PasswordHasher } from '../platform/crypto/passwords.js';
import type { RandomSource } from '../platform/crypto/tokens.js';
import type { Tenancy } from '../platform/db/database.js';
import type { EmailTokenPurpose } from '../platform/db/tables.js';
import type { Mailer, MailMessage } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Session, SessionService } from '../sessions/index.js';
import { identityError } from './errors.js';
import type { IdentityLimits } from './limits.js';

/** How long a mailed link of each purpose lives, in ms; tests may give others (overrides.identityLinkLifetimes). */
export type LinkLifetimes = Record<EmailTokenPurpose, number>;

/* What every identity operation is a function of, and the small helpers they share. */

export interface IdentityDeps {
  db: Tenancy;
  sessions: SessionService;
  hasher: PasswordHasher;
  mailer: Mailer;
  limits: IdentityLimits;
  /** A2, A3: how long each kind of mailed link lives. */
  linkLifetimes: LinkLifetimes;
  devices: DeviceTokens;
  /** Mail and other work the answer must not wait for (timing would tell whether an account exists). */
  background: Background;
  clock: Clock;
  baseUrl: string;
  /** S2: throws unless the session authenticated recently enough for a sensitive change. */
  requireRecentAuth: (session: Session) => Promise<void>;
  random?: RandomSource;
}

export interface SignedIn {
  token: string;
  session: Session;
  user: { id: string; email: string; emailVerified: boolean };
  /** The device cookie for this browser: it has now signed in to this account (A8). */
  device: string;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const actor = (userId: string) => `user:${userId}`;

export const invalidCredentials = () => identityError('invalid_credentials');
export const invalidLink = () => identityError('invalid_link');
export const weakPassword = (reason: string, field = 'password') =>
  identityError('weak_password', { message: reason, fields: [{ field, message: reason }] });

export function send(deps: IdentityDeps, message: MailMessage): void {
  // After the commit and off the response path: identical timing whether or not mail was due.
  deps.background.run(() => deps.mailer.send(message));
}

/** Keeps the device cookie the browser already holds for this account, or issues one. */
export const deviceFor = (deps: IdentityDeps, email: string, context: RequestContext) =>
  deps.devices.deviceOf(context.device, email) ? context.device! : deps.devices.issue(email);

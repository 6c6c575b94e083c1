/** The session feature's vocabulary: policy, constants and the shapes its service and repository share. */

export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
  /** last_seen is written at most this often, so a busy session does not write on every request. */
  touchEveryMs: number;
}

export const DAY = 24 * 60 * 60 * 1000;
export const defaultSessionPolicy = (absoluteDays = 90): SessionPolicy => ({
  idleMs: 30 * DAY,
  absoluteMs: absoluteDays * DAY,
  touchEveryMs: 5 * 60 * 1000,
});

/** 1: one factor (password, e-mailed link). 2: two factors. */
export type AuthLevel = 1 | 2;
/** `external`: through an upstream OpenID provider (A7), one factor like a password. */
export type SignInMethod = 'password' | 'magic_link' | 'password_reset' | 'passkey' | 'external';
export type SecondFactor = 'totp' | 'recovery_code' | 'passkey';
/** What a session presented to sign in or step up; a passkey whose key is backed up (synced) is told apart. */
export type Factor = 'password' | 'magic_link' | 'external' | SecondFactor | 'synced_passkey';
/** Why a session got a new identifier in a write() (S2): a fresh step-up, or a second factor just added. */
export type RotationReason = 'step_up' | 'second_factor_added';

/** How long a session that passed the first factor may take to present the second. */
export const SECOND_FACTOR_WINDOW_MS = 10 * 60 * 1000;
/** How long an identifier replaced by a deferred rotation still works (requests already in flight). */
export const ROTATION_GRACE_MS = 10 * 1000;

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  method: string;
  authLevel: number;
  authenticatedAt: Date;
  /** The organization this session works in (the switcher); membership is still checked on every request. */
  activeOrgId: string | null;
  /** Passed the first factor of an account with a second factor: reaches only the second-factor step. */
  secondFactorPending: boolean;
  /** A privilege change happened elsewhere (role change): the identifier rotates on the next request. */
  rotateDue: boolean;
  /** The factors it presented, each once, in order. */
  factors: readonly Factor[];
}

export interface SessionUser {
  id: string;
  email: string;
  emailVerified: boolean;
}

export interface Authenticated {
  session: Session;
  user: SessionUser;
}

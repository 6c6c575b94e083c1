import type { JWTPayload } from 'jose';

/** `acr` of a sign-in with one factor. */
export const ACR_PASSWORD = 'urn:rampart:acr:pwd';
/** `acr` of a sign-in with two factors. */
export const ACR_MFA = 'urn:rampart:acr:mfa';

/** The claims of a Rampart access token (RFC 9068 plus Rampart's own). */
export interface RampartAccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  sid?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  org_id?: string;
  org_role?: string;
  permissions?: string[];
}

/** What a product learns about the caller from a verified access token. */
export interface RampartIdentity {
  /** `sub`: the Rampart user id (a UUID). */
  readonly userId: string;
  /** `org_id`: the organization the token was issued for, or null for a personal token. */
  readonly orgId: string | null;
  /** `org_role`: the user's role in that organization (`owner`, `admin`, `member`, `billing`...). */
  readonly role: string | null;
  /** `permissions`: what the user may do in that organization, e.g. `members.read`. */
  readonly permissions: readonly string[];
  /** `amr`: how the user authenticated (`pwd`, `otp`, `hwk`, `swk`, `mfa`). */
  readonly amr: readonly string[];
  /** `acr`: `urn:rampart:acr:pwd` (one factor) or `urn:rampart:acr:mfa` (two factors). */
  readonly acr: string | null;
  /** True when the sign-in used a second factor (`acr` is the MFA value or `amr` holds `mfa`). */
  readonly secondFactor: boolean;
  /** `sid`: the Rampart session id, the key of back-channel logout. */
  readonly sessionId: string | null;
  /** `auth_time`: when the user last actively authenticated. */
  readonly authTime: Date | null;
  /** `client_id`: the OAuth client the token was issued to. */
  readonly clientId: string;
  /** `scope`, split on spaces. */
  readonly scope: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** `jti`: the token's unique id. */
  readonly tokenId: string;
  /** Every claim as verified, for anything not mapped above. */
  readonly claims: Readonly<RampartAccessTokenClaims>;
}

function optionalString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TypeError(`"${name}" claim must be a string`);
  return value;
}

function requiredString(payload: JWTPayload, name: string): string {
  const value = optionalString(payload, name);
  if (value === undefined || value === '') throw new TypeError(`"${name}" claim is required`);
  return value;
}

function stringArray(payload: JWTPayload, name: string): string[] {
  const value = payload[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`"${name}" claim must be an array of strings`);
  }
  return [...value];
}

function optionalNumber(payload: JWTPayload, name: string): number | undefined {
  const value = payload[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`"${name}" claim must be a number`);
  return value;
}

/**
 * Maps verified claims to a RampartIdentity. Throws a TypeError when a claim has the wrong type
 * (the verifier turns that into `token_invalid`): a malformed token is never half-trusted.
 */
export function identityFromClaims(payload: JWTPayload): RampartIdentity {
  const userId = requiredString(payload, 'sub');
  const clientId = requiredString(payload, 'client_id');
  const tokenId = requiredString(payload, 'jti');
  const exp = optionalNumber(payload, 'exp');
  const iat = optionalNumber(payload, 'iat');
  if (exp === undefined || iat === undefined) throw new TypeError('"exp" and "iat" claims are required');
  const authTime = optionalNumber(payload, 'auth_time');
  const acr = optionalString(payload, 'acr') ?? null;
  const amr = Object.freeze(stringArray(payload, 'amr'));
  const scope = Object.freeze((optionalString(payload, 'scope') ?? '').split(' ').filter(Boolean));
  return Object.freeze({
    userId,
    orgId: optionalString(payload, 'org_id') ?? null,
    role: optionalString(payload, 'org_role') ?? null,
    permissions: Object.freeze(stringArray(payload, 'permissions')),
    amr,
    acr,
    secondFactor: acr === ACR_MFA || amr.includes('mfa'),
    sessionId: optionalString(payload, 'sid') ?? null,
    authTime: authTime === undefined ? null : new Date(authTime * 1000),
    clientId,
    scope,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    tokenId,
    claims: Object.freeze({ ...payload }) as RampartAccessTokenClaims,
  });
}

/** True when the identity holds every one of `permissions`. */
export function hasPermissions(identity: RampartIdentity, permissions: readonly string[]): boolean {
  return permissions.every((p) => identity.permissions.includes(p));
}

import { can, permissions, type OrgService, type Role } from '../orgs/index.js';
import type { SessionService } from '../sessions/index.js';
import type { Tenancy } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import * as repo from './repository.js';

/** What a product learns about the person behind a grant, read when each token is issued. */
export interface AccountClaims {
  email: string;
  email_verified: boolean;
  org_id?: string;
  org_role?: Role;
  permissions?: string[];
}

/**
 * Both read the grant, its Rampart session and the role now; `request` (the provider's context of
 * one token request) lets the ID token and the access token of one answer share that read.
 */
export interface Claims {
  /**
   * The ID token and userinfo claims. Undefined when the grant's Rampart session has ended or the
   * person is no longer a member of its organization: the provider then refuses the token request.
   */
  account(userId: string, grantId: string, request: object): Promise<AccountClaims | undefined>;
  /** The claims Rampart adds to a JWT access token (RFC 9068 `auth_time`, `acr`, `amr`, and the organization). */
  forAccessToken(userId: string, grantId: string, request: object): Promise<Record<string, unknown> | undefined>;
}

export const permissionsOf = (role: Role): string[] => permissions().filter((p) => can(role, p));

export function createClaims(deps: { db: Tenancy; sessions: SessionService; orgs: OrgService }): Claims {
  const { db, sessions, orgs } = deps;

  // The role now (O3: a lowered role reaches the product with its next token); none when removed.
  async function roleNow(userId: string, orgId: string): Promise<Role | undefined> {
    try {
      return await orgs.roleIn(userId, orgId);
    } catch (err) {
      if (err instanceof AppError && err.status === 404) return undefined;
      throw err;
    }
  }

  const readThisRequest = new WeakMap<object, Map<string, ReturnType<typeof read>>>();
  function live(userId: string, grantId: string, request: object) {
    const reads = readThisRequest.get(request) ?? new Map();
    readThisRequest.set(request, reads);
    const key = `${userId} ${grantId}`;
    const found = reads.get(key) ?? read(userId, grantId);
    reads.set(key, found);
    return found;
  }

  async function read(userId: string, grantId: string) {
    const grant = await db.withSystem((tx) => repo.findGrant(tx, grantId));
    if (!grant || grant.user_id !== userId) return undefined;
    const auth = await sessions.byId(grant.session_id);
    if (!auth || auth.user.id !== userId) return undefined;
    const role = grant.chosen_org_id ? await roleNow(userId, grant.chosen_org_id) : undefined;
    if (grant.chosen_org_id && !role) return undefined;
    return { grant, auth, role };
  }

  return {
    async account(userId, grantId, request) {
      const found = await live(userId, grantId, request);
      if (!found) return undefined;
      const { grant, auth, role } = found;
      return {
        email: auth.user.email,
        email_verified: auth.user.emailVerified,
        ...(grant.chosen_org_id && role
          ? { org_id: grant.chosen_org_id, org_role: role, permissions: permissionsOf(role) }
          : {}),
      };
    },

    async forAccessToken(userId, grantId, request) {
      const found = await live(userId, grantId, request);
      if (!found) return undefined;
      const { grant, role } = found;
      return {
        auth_time: Math.floor(grant.auth_time.getTime() / 1000),
        acr: grant.acr,
        amr: grant.amr,
        ...(grant.chosen_org_id && role
          ? { org_id: grant.chosen_org_id, org_role: role, permissions: permissionsOf(role) }
          : {}),
      };
    },
  };
}

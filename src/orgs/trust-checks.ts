import type { Feature, FeatureContext, TrustCheck } from '../feature.js';
import { accessReviewCheck } from './trust-reviews.js';
import { apiKeyCheck } from './trust-api-keys.js';
import { invitationCheck } from './trust-invitations.js';
import { can, isPermission, mayGrant, permissions, RANK, ROLES } from './permissions.js';

/** The real decisions by default; a test hands in broken ones to see the check fail. */
export interface MatrixDeps {
  features: readonly Feature[];
  can?: typeof can;
  mayGrant?: typeof mayGrant;
}

/** What is wrong with the matrix in force against the documented one (each feature's declared permissions). */
function matrixProblems(features: readonly Feature[], held: typeof can): string[] {
  const documented = new Map(features.flatMap((f) => Object.entries(f.permissions ?? {})));
  const problems = permissions()
    .filter((p) => !documented.has(p))
    .map((p) => `${p} is in force but not documented`);
  for (const [p, def] of documented) {
    if (!isPermission(p)) {
      problems.push(`${p} is documented but not in force`);
      continue;
    }
    for (const role of ROLES) {
      const holds = held(role, p);
      if (holds !== def.roles.includes(role))
        problems.push(`${role} ${holds ? 'holds' : 'lacks'} ${p}, documented the other way`);
    }
    for (const higher of ROLES)
      for (const lower of ROLES)
        if (RANK[lower] < RANK[higher] && held(lower, p) && !held(higher, p))
          problems.push(`${lower} holds ${p} but ${higher} does not`);
  }
  return problems;
}

/** Every inviter/role pair through the real decision: allowed exactly when the role is at or below the inviter's. */
function grantProblems(grant: typeof mayGrant): string[] {
  const problems: string[] = [];
  for (const granter of ROLES)
    for (const role of ROLES) {
      const allowed = grant(granter, role);
      if (allowed !== RANK[role] <= RANK[granter])
        problems.push(`${granter} ${allowed ? 'may' : 'may not'} invite or promote to ${role}`);
    }
  return problems;
}

/** O1: the documented permission matrix is the one in force, and invitees get a role no higher than the inviter's. */
export function roleMatrixCheck(deps: MatrixDeps): TrustCheck {
  return {
    control: 'O1',
    id: 'org-role-matrix',
    title:
      'The role permission matrix in force is the documented one, and no one can invite or promote above ' +
      'their own role',
    async run() {
      const problems = [...matrixProblems(deps.features, deps.can ?? can), ...grantProblems(deps.mayGrant ?? mayGrant)];
      if (problems.length > 0) return { status: 'failing', detail: problems.join('; ') };
      const pairs = ROLES.length * ROLES.length;
      const allowed = ROLES.flatMap((a) => ROLES.filter((b) => RANK[b] <= RANK[a])).length;
      return {
        status: 'passing',
        detail:
          `${permissions().length} permissions × ${ROLES.length} roles in force match the documented matrix ` +
          '(the declarations docs/permissions.md is generated from), and each role holds all its juniors hold; ' +
          `of ${pairs} inviter/role pairs ` +
          `the ${allowed} at or below the inviter's role are allowed, the ${pairs - allowed} above refused`,
      };
    },
  };
}

/** O1, O3, O4, O6: read from this instance's decisions, policy, stored rows and probe requests. */
export function orgTrustChecks({ platform: p, features, use }: FeatureContext): readonly TrustCheck[] {
  const orgs = use('orgs');
  return [
    roleMatrixCheck({ features }),
    invitationCheck({ db: p.db, orgs, clock: p.clock }),
    accessReviewCheck({ db: p.db, orgs, clock: p.clock }),
    apiKeyCheck({ db: p.db, apiKeys: use('apiKeys') }),
  ];
}

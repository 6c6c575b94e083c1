import type { OrgTab } from '../feature.js';
import { can, RANK, ROLES, type Role } from './permissions.js';
import type { Org } from './service.js';

/** An e-mail address that may wrap before its @ in a narrow table cell. */
export const breakable = (email: string) => {
  const at = email.lastIndexOf('@');
  return at > 0 ? [email.slice(0, at), <wbr />, email.slice(at)] : email;
};

export const ROLE_LABELS: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };
export const ROLE_SUMMARY =
  'Owners can do everything. Admins can do everything except delete the organization or hand over ownership. ' +
  'Members see the organization and its members. Viewers see the organization only.';

/** The roles someone may hand out: never above their own (O1). */
export const grantable = (role: Role) => ROLES.filter((r) => RANK[r] <= RANK[role]);

export const roleOptions = (roles: readonly Role[]) => roles.map((r) => ({ value: r, label: ROLE_LABELS[r] }));

// ---------------------------------------------------------------------------------------------
// The header every page of one organization shares

/**
 * `tabs` are what every feature adds to an organization's pages (the feature list); `here` is the
 * path of the current one.
 */
export function OrgHeader({
  org,
  tabs,
  here: path,
  active,
}: {
  org: Org;
  tabs: readonly OrgTab[];
  here: string;
  active?: boolean;
}) {
  const sections = tabs.filter((t) => can(org.role, t.permission));
  const here = sections.find((t) => t.path === path) ?? { path, label: org.name };
  const settings = path === '';
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href="/orgs">Organizations</a>
          </li>
          {settings ? (
            <li>{org.name}</li>
          ) : (
            <>
              <li>
                <a href={`/orgs/${org.id}`}>{org.name}</a>
              </li>
              <li>{here.label}</li>
            </>
          )}
        </ul>
      </nav>
      <hgroup>
        <h1>{settings ? org.name : here.label}</h1>
        <p>
          {settings ? 'Organization settings' : org.name} · your role: {ROLE_LABELS[org.role]}
          {active && ' · your active organization'}
        </p>
      </hgroup>
      {sections.length > 1 && (
        <nav aria-label="Organization sections" class="org-nav">
          <ul>
            {sections.map((s) => (
              <li>
                <a href={`/orgs/${org.id}${s.path}`} aria-current={s.path === path ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </>
  );
}

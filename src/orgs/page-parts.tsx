import { can, RANK, ROLES, type Permission, type Role } from './permissions.js';
import type { Org } from './service.js';

/** An e-mail address that may wrap before its @ in a narrow table cell. */
export const breakable = (email: string) => {
  const at = email.lastIndexOf('@');
  return at > 0 ? [email.slice(0, at), <wbr />, email.slice(at)] : email;
};

export const ROLE_LABELS: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };
export const ROLE_SUMMARY =
  'Owners can do everything. Admins can do everything except delete the organization or hand over ownership. Members see the organization and its members. Viewers see the organization only.';

/** The roles someone may hand out: never above their own (O1). */
export const grantable = (role: Role) => ROLES.filter((r) => RANK[r] <= RANK[role]);

export const roleOptions = (roles: readonly Role[]) => roles.map((r) => ({ value: r, label: ROLE_LABELS[r] }));

// ---------------------------------------------------------------------------------------------
// The header every page of one organization shares

export type Section = 'settings' | 'members' | 'invitations' | 'api-keys' | 'audit' | 'review';

const SECTIONS: { section: Section; path: string; label: string; permission: Permission }[] = [
  { section: 'settings', path: '', label: 'Settings', permission: 'org.read' },
  { section: 'members', path: '/members', label: 'Members', permission: 'members.read' },
  { section: 'invitations', path: '/invitations', label: 'Invitations', permission: 'invitations.read' },
  { section: 'api-keys', path: '/api-keys', label: 'API keys', permission: 'api_keys.read' },
  { section: 'audit', path: '/audit', label: 'Audit log', permission: 'audit.read' },
  { section: 'review', path: '/review', label: 'Access review', permission: 'reviews.read' },
];

export function OrgHeader({ org, section, active }: { org: Org; section: Section; active?: boolean }) {
  const here = SECTIONS.find((s) => s.section === section)!;
  const sections = SECTIONS.filter((s) => can(org.role, s.permission));
  return (
    <>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href="/orgs">Organizations</a>
          </li>
          {section === 'settings' ? (
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
        <h1>{section === 'settings' ? org.name : here.label}</h1>
        <p>
          {section === 'settings' ? 'Organization settings' : org.name} · your role: {ROLE_LABELS[org.role]}
          {active && ' · your active organization'}
        </p>
      </hgroup>
      {sections.length > 1 && (
        <nav aria-label="Organization sections" class="org-nav">
          <ul>
            {sections.map((s) => (
              <li>
                <a href={`/orgs/${org.id}${s.path}`} aria-current={s.section === section ? 'page' : undefined}>
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

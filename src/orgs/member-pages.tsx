import type { OrgTab } from '../feature.js';
import { ActionButton, Field, Form, FormMessage, SelectField, type FormState } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import { breakable, grantable, OrgHeader, ROLE_LABELS, ROLE_SUMMARY, roleOptions } from './page-parts.js';
import { can, RANK, type Permission } from './permissions.js';
import type { Invitation, Member, Org } from './service.js';

export interface MembersPageProps {
  csrf: string;
  org: Org;
  tabs: readonly OrgTab[];
  me: string;
  members: Member[];
  notice?: string;
  /** A problem with one of the per-row forms (role, remove, leave). */
  tableState?: FormState;
  inviteState?: FormState;
}

export function MembersPage({ csrf, org, tabs, me, members, notice, tableState, inviteState }: MembersPageProps) {
  const may = (p: Permission) => can(org.role, p);
  const myRank = RANK[org.role];
  const roles = grantable(org.role);
  return (
    <div class="org-page">
      <OrgHeader org={org} tabs={tabs} here="/members" />
      <Notice text={notice} />
      <section aria-labelledby="members-heading">
        <h2 id="members-heading">
          {members.length} {members.length === 1 ? 'person' : 'people'} with access
        </h2>
        <FormMessage state={tableState} />
        <Table columns={['E-mail', 'Role', 'Joined']} hiddenColumn="Actions">
          {members.map((m) => {
            const self = m.userId === me;
            const changeable = may('members.change_role') && RANK[m.role] <= myRank;
            const removable = !self && may('members.remove') && RANK[m.role] <= myRank;
            return (
              <tr>
                <td>
                  {m.email}
                  {self && <span class="this-device"> (you)</span>}
                </td>
                <td>
                  {changeable ? (
                    <Form
                      action={`/orgs/${org.id}/members/${m.userId}/role`}
                      csrf={csrf}
                      label={`Change the role of ${m.email}`}
                    >
                      <div role="group" class="row-form">
                        <label for={`role-${m.userId}`} class="visually-hidden">
                          Role of {m.email}
                        </label>
                        <select id={`role-${m.userId}`} name="role">
                          {roles.map((r) => (
                            <option value={r} selected={r === m.role}>
                              {ROLE_LABELS[r]}
                            </option>
                          ))}
                        </select>
                        <button type="submit" class="secondary outline" aria-label={`Change the role of ${m.email}`}>
                          Change
                        </button>
                      </div>
                    </Form>
                  ) : (
                    ROLE_LABELS[m.role]
                  )}
                </td>
                <td>
                  <Time at={m.joinedAt} short />
                </td>
                <td>
                  {self ? (
                    <ActionButton
                      action={`/orgs/${org.id}/leave`}
                      csrf={csrf}
                      label="Leave organization"
                      confirm={`Leave ${org.name}? API keys you created stop working.`}
                    >
                      Leave organization
                    </ActionButton>
                  ) : (
                    removable && (
                      <ActionButton
                        action={`/orgs/${org.id}/members/${m.userId}/remove`}
                        csrf={csrf}
                        label={`Remove ${m.email}`}
                        confirm={`Remove ${m.email} from ${org.name}? API keys they created stop working.`}
                        buttonLabel={`Remove ${m.email}`}
                      >
                        Remove
                      </ActionButton>
                    )
                  )}
                </td>
              </tr>
            );
          })}
        </Table>
      </section>

      {may('members.invite') && (
        <section aria-labelledby="invite-heading" id="invite">
          <h2 id="invite-heading">Invite someone</h2>
          <p>
            We e-mail them a link that works once, for 7 days, and only for that address.
            {may('invitations.read') && (
              <>
                {' '}
                <a href={`/orgs/${org.id}/invitations`}>See pending invitations</a>
              </>
            )}
          </p>
          <FormMessage state={inviteState} />
          <Form action={`/orgs/${org.id}/invitations`} csrf={csrf} label="Invite someone">
            <div class="grid">
              <Field name="email" label="E-mail address" type="email" autocomplete="off" state={inviteState} />
              <SelectField name="role" label="Role" options={roleOptions(roles)} value="viewer" state={inviteState} />
            </div>
            <p>
              <small>{ROLE_SUMMARY}</small>
            </p>
            <button type="submit">Send invitation</button>
          </Form>
        </section>
      )}
    </div>
  );
}

// Invitations

export interface InvitationsPageProps {
  csrf: string;
  org: Org;
  tabs: readonly OrgTab[];
  invitations: Invitation[];
  /** user id → e-mail, for "invited by" (empty when the viewer may not see members). */
  emails: Map<string, string>;
  notice?: string;
  tableState?: FormState;
}

export function InvitationsPage({ csrf, org, tabs, invitations, emails, notice, tableState }: InvitationsPageProps) {
  const manage = can(org.role, 'invitations.revoke');
  return (
    <div class="org-page">
      <OrgHeader org={org} tabs={tabs} here="/invitations" />
      <Notice text={notice} />
      <section aria-labelledby="invitations-heading">
        <h2 id="invitations-heading">Pending invitations</h2>
        <FormMessage state={tableState} />
        {invitations.length === 0 ? (
          <p>No pending invitations.</p>
        ) : (
          <Table columns={['E-mail', 'Role', 'Invited', 'Expires']} hiddenColumn={manage && 'Actions'}>
            {invitations.map((i) => (
              <tr>
                <td>{i.email}</td>
                <td>{ROLE_LABELS[i.role]}</td>
                <td>
                  <Time at={i.createdAt} short />
                  {emails.has(i.invitedBy) && <small class="by"> by {breakable(emails.get(i.invitedBy)!)}</small>}
                </td>
                <td>
                  <Time at={i.expiresAt} short />
                </td>
                {manage && (
                  <td>
                    <div class="row-actions">
                      {RANK[i.role] <= RANK[org.role] && (
                        <ActionButton
                          action={`/orgs/${org.id}/invitations/${i.id}/resend`}
                          csrf={csrf}
                          label={`Resend the invitation to ${i.email}`}
                          buttonLabel={`Resend the invitation to ${i.email}`}
                        >
                          Resend
                        </ActionButton>
                      )}
                      <ActionButton
                        action={`/orgs/${org.id}/invitations/${i.id}/revoke`}
                        csrf={csrf}
                        label={`Revoke the invitation to ${i.email}`}
                        confirm={`Revoke the invitation to ${i.email}?`}
                        buttonLabel={`Revoke the invitation to ${i.email}`}
                      >
                        Revoke
                      </ActionButton>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
        {can(org.role, 'members.invite') && (
          <p>
            <a href={`/orgs/${org.id}/members#invite`}>Invite someone</a>
          </p>
        )}
      </section>
    </div>
  );
}

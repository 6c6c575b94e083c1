import { Field, Form, FormMessage, type FormState } from '../platform/views/forms.js';
import { MessagePage } from '../platform/views/layout.js';
import type { ApiKeyInfo } from './api-keys.js';
import { can, PERMISSIONS, RANK, ROLES, type Permission, type Role } from './permissions.js';
import type { Invitation, Member, Org } from './service.js';

const when = (d: Date) => `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
const day = (d: Date) => d.toISOString().slice(0, 10);

/** An e-mail address that may wrap before its @ in a narrow table cell. */
const breakable = (email: string) => {
  const at = email.lastIndexOf('@');
  return at > 0 ? [email.slice(0, at), <wbr />, email.slice(at)] : email;
};

function Time({ at, short }: { at: Date; short?: boolean }) {
  return <time dateTime={at.toISOString()}>{short ? day(at) : when(at)}</time>;
}

export const ROLE_LABELS: Record<Role, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', viewer: 'Viewer' };
const ROLE_SUMMARY = 'Owners can do everything. Admins can do everything except delete the organization or hand over ownership. Members see the organization and its members. Viewers see the organization only.';

/** The roles someone may hand out: never above their own (O1). */
export const grantable = (role: Role) => ROLES.filter((r) => RANK[r] <= RANK[role]);

function Notice({ text }: { text?: string }) {
  if (!text) return null;
  return (
    <p class="notice" role="status">
      {text}
    </p>
  );
}

/** A labelled <select> that shows its error beside it, like Field does for inputs. */
function SelectField({ name, label, options, state, value, hint }: { name: string; label: string; options: { value: string; label: string }[]; state?: FormState; value?: string; hint?: string }) {
  const error = state?.errors?.find((e) => e.field === name);
  const id = `field-${name}`;
  const described = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined;
  const selected = state?.values?.[name] ?? value;
  return (
    <label for={id}>
      {label}
      <select id={id} name={name} required aria-invalid={error ? 'true' : undefined} aria-describedby={described}>
        {options.map((o) => (
          <option value={o.value} selected={o.value === selected}>
            {o.label}
          </option>
        ))}
      </select>
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error.message}
        </small>
      )}
    </label>
  );
}

const roleOptions = (roles: readonly Role[]) => roles.map((r) => ({ value: r, label: ROLE_LABELS[r] }));

// ---------------------------------------------------------------------------------------------
// Your organizations

export function OrgListPage({ csrf, orgs, activeOrgId, createState, notice }: { csrf: string; orgs: Org[]; activeOrgId: string | null; createState?: FormState; notice?: string }) {
  return (
    <div class="org-page">
      <h1>Your organizations</h1>
      <Notice text={notice} />
      {orgs.length === 0 ? (
        <p>You are not a member of any organization yet. Create one below, or accept an invitation from your e-mail.</p>
      ) : (
        <div class="overflow-auto">
          <table>
            <thead>
              <tr>
                <th scope="col">Organization</th>
                <th scope="col">Your role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Active organization</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {orgs.map((o) => (
                <tr>
                  <td>
                    <a href={`/orgs/${o.id}`}>{o.name}</a>
                  </td>
                  <td>{ROLE_LABELS[o.role]}</td>
                  <td>
                    <Time at={o.createdAt} short />
                  </td>
                  <td>
                    {o.id === activeOrgId ? (
                      <strong class="active-marker">Active</strong>
                    ) : (
                      <Form action={`/orgs/${o.id}/switch`} csrf={csrf} label={`Switch to ${o.name}`}>
                        <button type="submit" class="secondary outline" aria-label={`Switch to ${o.name}`}>
                          Switch to
                        </button>
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <section aria-labelledby="create-heading">
        <h2 id="create-heading">Create an organization</h2>
        <p>You become its owner, and can invite others afterwards.</p>
        <FormMessage state={createState} />
        <Form action="/orgs" csrf={csrf} label="Create organization">
          <Field name="name" label="Name" autocomplete="organization" state={createState} />
          <button type="submit">Create organization</button>
        </Form>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// The header every page of one organization shares

type Section = 'settings' | 'members' | 'invitations' | 'api-keys' | 'audit' | 'review';

const SECTIONS: { section: Section; path: string; label: string; permission: Permission }[] = [
  { section: 'settings', path: '', label: 'Settings', permission: 'org.read' },
  { section: 'members', path: '/members', label: 'Members', permission: 'members.read' },
  { section: 'invitations', path: '/invitations', label: 'Invitations', permission: 'invitations.read' },
  { section: 'api-keys', path: '/api-keys', label: 'API keys', permission: 'api_keys.read' },
  { section: 'audit', path: '/audit', label: 'Audit log', permission: 'audit.read' },
  { section: 'review', path: '/review', label: 'Access review', permission: 'reviews.read' },
];

function OrgHeader({ org, section, active }: { org: Org; section: Section; active?: boolean }) {
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

// ---------------------------------------------------------------------------------------------
// Settings

export interface SettingsPageProps {
  csrf: string;
  org: Org;
  active: boolean;
  /** The other members, for handing over ownership (owners only). */
  others: Member[];
  notice?: string;
  renameState?: FormState;
  transferState?: FormState;
  deleteState?: FormState;
  leaveState?: FormState;
  mfaState?: FormState;
}

export function OrgSettingsPage({ csrf, org, active, others, notice, renameState, transferState, deleteState, leaveState, mfaState }: SettingsPageProps) {
  const may = (p: Permission) => can(org.role, p);
  return (
    <div class="org-page">
      <OrgHeader org={org} section="settings" active={active} />
      <Notice text={notice} />

      <section aria-labelledby="about-heading">
        <h2 id="about-heading">About</h2>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{org.name}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={org.createdAt} />
          </dd>
          <dt>Your role</dt>
          <dd>{ROLE_LABELS[org.role]}</dd>
          <dt>Two-factor sign-in</dt>
          <dd>{org.requireMfa ? 'Required of every member' : 'Not required'}</dd>
        </dl>
        {active ? (
          <p>This is the organization you are working in.</p>
        ) : (
          <Form action={`/orgs/${org.id}/switch`} csrf={csrf} label={`Switch to ${org.name}`}>
            <button type="submit" class="secondary">
              Switch to {org.name}
            </button>
          </Form>
        )}
      </section>

      {may('org.rename') && (
        <section aria-labelledby="rename-heading">
          <h2 id="rename-heading">Rename</h2>
          <FormMessage state={renameState} />
          <Form action={`/orgs/${org.id}/rename`} csrf={csrf} label="Rename organization">
            <Field name="name" label="Name" autocomplete="organization" state={renameState ?? { values: { name: org.name } }} />
            <button type="submit">Rename</button>
          </Form>
        </section>
      )}

      {may('org.require_mfa') && (
        <section aria-labelledby="mfa-heading">
          <h2 id="mfa-heading">Two-factor sign-in</h2>
          <p>
            {org.requireMfa
              ? 'Required: members without a second factor are sent to set one up before they reach anything of this organization. API keys are not affected.'
              : 'Not required. When you require it, members without a second factor must set one up before they reach anything of this organization. API keys are not affected.'}
          </p>
          <FormMessage state={mfaState} />
          <Form action={`/orgs/${org.id}/mfa-policy`} csrf={csrf} label="Two-factor sign-in requirement">
            <input type="hidden" name="required" value={org.requireMfa ? 'false' : 'true'} />
            <button type="submit" class={org.requireMfa ? 'secondary outline' : undefined}>
              {org.requireMfa ? 'Stop requiring two-factor sign-in' : 'Require two-factor sign-in'}
            </button>
          </Form>
        </section>
      )}

      <section aria-labelledby="danger-heading" class="danger-zone">
        <h2 id="danger-heading">Danger zone</h2>

        {may('org.transfer_ownership') && (
          <>
            <h3>Hand over ownership</h3>
            {others.length === 0 ? (
              <p>Invite someone first: ownership can only go to another member.</p>
            ) : (
              <>
                <p>The member you choose becomes an owner, and you become an admin.</p>
                <FormMessage state={transferState} />
                <Form action={`/orgs/${org.id}/transfer`} csrf={csrf} label="Hand over ownership" confirm="Hand over ownership? You will become an admin.">
                  <SelectField name="userId" label="New owner" options={others.map((m) => ({ value: m.userId, label: `${m.email} (${ROLE_LABELS[m.role]})` }))} state={transferState} />
                  <button type="submit" class="secondary">
                    Hand over ownership
                  </button>
                </Form>
              </>
            )}
          </>
        )}

        {may('org.delete') && (
          <>
            <h3>Delete this organization</h3>
            <p>Members lose access at once and its API keys stop working. This cannot be undone.</p>
            <FormMessage state={deleteState} />
            <Form action={`/orgs/${org.id}/delete`} csrf={csrf} label="Delete organization" confirm={`Delete ${org.name} for good?`}>
              <Field name="confirmName" label={`Type the name, ${org.name}, to confirm`} autocomplete="off" state={deleteState} />
              <button type="submit" class="danger">
                Delete organization
              </button>
            </Form>
          </>
        )}

        <h3>Leave</h3>
        <p>You lose access to {org.name} at once; someone will have to invite you again.</p>
        <FormMessage state={leaveState} />
        <Form action={`/orgs/${org.id}/leave`} csrf={csrf} label="Leave organization" confirm={`Leave ${org.name}?`}>
          <button type="submit" class="secondary outline">
            Leave organization
          </button>
        </Form>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Members

export interface MembersPageProps {
  csrf: string;
  org: Org;
  me: string;
  members: Member[];
  notice?: string;
  /** A problem with one of the per-row forms (role, remove, leave). */
  tableState?: FormState;
  inviteState?: FormState;
}

export function MembersPage({ csrf, org, me, members, notice, tableState, inviteState }: MembersPageProps) {
  const may = (p: Permission) => can(org.role, p);
  const myRank = RANK[org.role];
  const roles = grantable(org.role);
  return (
    <div class="org-page">
      <OrgHeader org={org} section="members" />
      <Notice text={notice} />
      <section aria-labelledby="members-heading">
        <h2 id="members-heading">
          {members.length} {members.length === 1 ? 'person' : 'people'} with access
        </h2>
        <FormMessage state={tableState} />
        <div class="overflow-auto">
          <table>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
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
                        <Form action={`/orgs/${org.id}/members/${m.userId}/role`} csrf={csrf} label={`Change the role of ${m.email}`}>
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
                        <Form action={`/orgs/${org.id}/leave`} csrf={csrf} label="Leave organization" confirm={`Leave ${org.name}?`}>
                          <button type="submit" class="secondary outline">
                            Leave organization
                          </button>
                        </Form>
                      ) : (
                        removable && (
                          <Form action={`/orgs/${org.id}/members/${m.userId}/remove`} csrf={csrf} label={`Remove ${m.email}`} confirm={`Remove ${m.email} from ${org.name}?`}>
                            <button type="submit" class="secondary outline" aria-label={`Remove ${m.email}`}>
                              Remove
                            </button>
                          </Form>
                        )
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
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

// ---------------------------------------------------------------------------------------------
// Invitations

export interface InvitationsPageProps {
  csrf: string;
  org: Org;
  invitations: Invitation[];
  /** user id → e-mail, for "invited by" (empty when the viewer may not see members). */
  emails: Map<string, string>;
  notice?: string;
  tableState?: FormState;
}

export function InvitationsPage({ csrf, org, invitations, emails, notice, tableState }: InvitationsPageProps) {
  const manage = can(org.role, 'invitations.revoke');
  return (
    <div class="org-page">
      <OrgHeader org={org} section="invitations" />
      <Notice text={notice} />
      <section aria-labelledby="invitations-heading">
        <h2 id="invitations-heading">Pending invitations</h2>
        <FormMessage state={tableState} />
        {invitations.length === 0 ? (
          <p>No pending invitations.</p>
        ) : (
          <div class="overflow-auto">
            <table>
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Invited</th>
                  <th scope="col">Expires</th>
                  {manage && (
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
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
                            <Form action={`/orgs/${org.id}/invitations/${i.id}/resend`} csrf={csrf} label={`Resend the invitation to ${i.email}`}>
                              <button type="submit" class="secondary outline" aria-label={`Resend the invitation to ${i.email}`}>
                                Resend
                              </button>
                            </Form>
                          )}
                          <Form action={`/orgs/${org.id}/invitations/${i.id}/revoke`} csrf={csrf} label={`Revoke the invitation to ${i.email}`} confirm={`Revoke the invitation to ${i.email}?`}>
                            <button type="submit" class="secondary outline" aria-label={`Revoke the invitation to ${i.email}`}>
                              Revoke
                            </button>
                          </Form>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
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

// ---------------------------------------------------------------------------------------------
// API keys (O6)

export interface ApiKeysPageProps {
  csrf: string;
  org: Org;
  keys: ApiKeyInfo[];
  notice?: string;
  tableState?: FormState;
  createState?: FormState;
  /** Scopes ticked in a create form that came back with errors. */
  checked?: Permission[];
  /** A key just created: its only appearance, ever. */
  created?: { key: string; info: ApiKeyInfo };
}

export function ApiKeysPage({ csrf, org, keys, notice, tableState, createState, checked = [], created }: ApiKeysPageProps) {
  const scopes = (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(org.role, p));
  const scopeError = createState?.errors?.find((e) => e.field === 'scopes');
  return (
    <div class="org-page">
      <OrgHeader org={org} section="api-keys" />
      {created && (
        <article class="new-key" aria-labelledby="new-key-heading">
          <h2 id="new-key-heading">Your new API key: {created.info.name}</h2>
          <p role="status">
            <strong>Copy it now: it will not be shown again.</strong> Rampart keeps only a hash of it. If you lose it, revoke it and create another.
          </p>
          <label for="new-key">
            API key
            <input id="new-key" type="text" readonly value={created.key} autocomplete="off" spellcheck={false} class="secret" />
          </label>
          <p>
            <small>
              Send it as <code>Authorization: Bearer …</code>. Scopes: {created.info.scopes.join(', ')}. Expires <Time at={created.info.expiresAt} short />.
            </small>
          </p>
        </article>
      )}
      <Notice text={notice} />

      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys</h2>
        <FormMessage state={tableState} />
        {keys.length === 0 ? (
          <p>No API keys.</p>
        ) : (
          <div class="overflow-auto">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  {can(org.role, 'api_keys.revoke') && (
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}</code>
                    </td>
                    <td>
                      <ul class="scopes">
                        {k.scopes.map((s) => (
                          <li>
                            <code title={PERMISSIONS[s]}>{s}</code>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>
                      <Time at={k.createdAt} short />
                    </td>
                    <td>
                      <Time at={k.expiresAt} short />
                    </td>
                    <td>
                      {k.lastUsedAt ? (
                        <>
                          <Time at={k.lastUsedAt} />
                          {k.lastUsedIp && <small class="by"> from {k.lastUsedIp}</small>}
                        </>
                      ) : (
                        'Never'
                      )}
                    </td>
                    {can(org.role, 'api_keys.revoke') && (
                      <td>
                        <Form action={`/orgs/${org.id}/api-keys/${k.id}/revoke`} csrf={csrf} label={`Revoke API key ${k.name}`} confirm={`Revoke the key ${k.name}? Anything using it stops working at once.`}>
                          <button type="submit" class="secondary outline" aria-label={`Revoke API key ${k.name} (${k.prefix})`}>
                            Revoke
                          </button>
                        </Form>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {can(org.role, 'api_keys.create') && (
        <section aria-labelledby="create-key-heading">
          <h2 id="create-key-heading">Create an API key</h2>
          <p>A key acts for {org.name} with exactly the scopes you tick, never more than your own role allows.</p>
          <FormMessage state={createState} />
          <Form action={`/orgs/${org.id}/api-keys`} csrf={csrf} label="Create API key">
            <Field name="name" label="Name" autocomplete="off" hint="What uses it, e.g. “billing backend”." state={createState} />
            <fieldset>
              <legend>Scopes</legend>
              {scopeError && (
                <small id="field-scopes-error" class="field-error scope-error">
                  {scopeError.message}
                </small>
              )}
              <div class="scope-grid">
                {scopes.map((p) => (
                  <label for={`scope-${p}`}>
                    <input
                      id={`scope-${p}`}
                      type="checkbox"
                      name="scopes"
                      value={p}
                      checked={checked.includes(p)}
                      aria-invalid={scopeError ? 'true' : undefined}
                      aria-describedby={scopeError ? 'field-scopes-error' : undefined}
                    />
                    {PERMISSIONS[p]} <code>{p}</code>
                  </label>
                ))}
              </div>
            </fieldset>
            <div class="short-field">
              <Field name="expiresInDays" label="Expires after (days)" type="number" hint="1 to 366 days." state={createState ?? { values: { expiresInDays: '90' } }} />
            </div>
            <button type="submit">Create API key</button>
          </Form>
        </section>
      )}
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Accepting an invitation (O3)

/** The mail's link leads here, to a button: mail scanners that open links must not use them up. */
export function AcceptInvitationPage({ csrf, email, org, token }: { csrf: string; email: string; org: string; token: string }) {
  return (
    <section class="narrow">
      <h1>Join an organization</h1>
      <p>
        You were invited to an organization on Rampart. You are signed in as <strong>{email}</strong>: the invitation works only for the address it was
        sent to.
      </p>
      <Form action="/invitations/accept" csrf={csrf} label="Accept invitation">
        <input type="hidden" name="org" value={org} />
        <input type="hidden" name="token" value={token} />
        <button type="submit">Accept invitation</button>
      </Form>
    </section>
  );
}

export function InvitationProblemPage({ message }: { message: string }) {
  return (
    <section class="narrow">
      <h1>This invitation cannot be used</h1>
      <p role="alert">{message}</p>
      <p>Ask the person who invited you to send a new one, to the address you sign in with.</p>
      <p>
        <a href="/orgs" role="button">
          Your organizations
        </a>
      </p>
    </section>
  );
}

/** A refused action (403): what happened, and the way back. */
export function ForbiddenPage({ message, back }: { message: string; back: { href: string; text: string } }) {
  return (
    <MessagePage heading="You cannot do that">
      <p role="alert">{message}</p>
      <p>
        <a href={back.href}>{back.text}</a>
      </p>
    </MessagePage>
  );
}

import type { OrgTab } from '../feature.js';
import { ActionButton, Field, Form, FormMessage, SelectField, type FormState } from '../platform/views/forms.js';
import { Notice, Table, Time } from '../platform/views/format.js';
import { MessagePage } from '../platform/views/layout.js';
import { OrgHeader, ROLE_LABELS } from './page-parts.js';
import { can, type Permission } from './permissions.js';
import type { Member, Org } from './service.js';

export function OrgListPage({
  csrf,
  orgs,
  activeOrgId,
  createState,
  notice,
}: {
  csrf: string;
  orgs: Org[];
  activeOrgId: string | null;
  createState?: FormState;
  notice?: string;
}) {
  return (
    <div class="org-page">
      <h1>Your organizations</h1>
      <Notice text={notice} />
      {orgs.length === 0 ? (
        <p>You are not a member of any organization yet. Create one below, or accept an invitation from your e-mail.</p>
      ) : (
        <Table columns={['Organization', 'Your role', 'Created']} hiddenColumn="Active organization">
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
                  <ActionButton
                    action={`/orgs/${o.id}/switch`}
                    csrf={csrf}
                    label={`Switch to ${o.name}`}
                    buttonLabel={`Switch to ${o.name}`}
                  >
                    Switch to
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
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

// Settings

export interface SettingsPageProps {
  csrf: string;
  org: Org;
  tabs: readonly OrgTab[];
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

export function OrgSettingsPage({
  csrf,
  org,
  tabs,
  active,
  others,
  notice,
  renameState,
  transferState,
  deleteState,
  leaveState,
  mfaState,
}: SettingsPageProps) {
  const may = (p: Permission) => can(org.role, p);
  return (
    <div class="org-page">
      <OrgHeader org={org} tabs={tabs} here="" active={active} />
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
          <ActionButton
            action={`/orgs/${org.id}/switch`}
            csrf={csrf}
            label={`Switch to ${org.name}`}
            variant="secondary"
          >
            Switch to {org.name}
          </ActionButton>
        )}
      </section>

      {may('org.rename') && (
        <section aria-labelledby="rename-heading">
          <h2 id="rename-heading">Rename</h2>
          <FormMessage state={renameState} />
          <Form action={`/orgs/${org.id}/rename`} csrf={csrf} label="Rename organization">
            <Field
              name="name"
              label="Name"
              autocomplete="organization"
              state={renameState ?? { values: { name: org.name } }}
            />
            <button type="submit">Rename</button>
          </Form>
        </section>
      )}

      {may('org.require_mfa') && (
        <section aria-labelledby="mfa-heading">
          <h2 id="mfa-heading">Two-factor sign-in</h2>
          <p>
            {org.requireMfa
              ? 'Required: members without a second factor are sent to set one up before they reach anything ' +
                'of this organization. API keys are not affected.'
              : 'Not required. When you require it, members without a second factor must set one up before ' +
                'they reach anything of this organization. API keys are not affected.'}
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
                <Form
                  action={`/orgs/${org.id}/transfer`}
                  csrf={csrf}
                  label="Hand over ownership"
                  confirm="Hand over ownership? You will become an admin."
                >
                  <SelectField
                    name="userId"
                    label="New owner"
                    options={others.map((m) => ({ value: m.userId, label: `${m.email} (${ROLE_LABELS[m.role]})` }))}
                    state={transferState}
                  />
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
            <Form
              action={`/orgs/${org.id}/delete`}
              csrf={csrf}
              label="Delete organization"
              confirm={`Delete ${org.name} for good?`}
            >
              <Field
                name="confirmName"
                label={`Type the name, ${org.name}, to confirm`}
                autocomplete="off"
                state={deleteState}
              />
              <button type="submit" class="danger">
                Delete organization
              </button>
            </Form>
          </>
        )}

        <h3>Leave</h3>
        <p>
          You lose access to {org.name} at once, and API keys you created are revoked; someone will have to invite you
          again.
        </p>
        <FormMessage state={leaveState} />
        <ActionButton
          action={`/orgs/${org.id}/leave`}
          csrf={csrf}
          label="Leave organization"
          confirm={`Leave ${org.name}? API keys you created stop working.`}
        >
          Leave organization
        </ActionButton>
      </section>
    </div>
  );
}

// Accepting an invitation (O3)

/** The mail's link leads here, to a button: mail scanners that open links must not use them up. */
export function AcceptInvitationPage({
  csrf,
  email,
  org,
  token,
}: {
  csrf: string;
  email: string;
  org: string;
  token: string;
}) {
  return (
    <section class="narrow">
      <h1>Join an organization</h1>
      <p>
        You were invited to an organization on Rampart. You are signed in as <strong>{email}</strong>: the invitation
        works only for the address it was sent to.
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

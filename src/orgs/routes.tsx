import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError, type FieldError } from '../platform/errors.js';
import { formBody, validationErrors } from '../platform/http/forms.js';
import { requestContext } from '../platform/http/request-context.js';
import { Email, Int, Text } from '../platform/http/schemas.js';
import type { FormState } from '../platform/views/forms.js';
import { authOf, requireUser } from '../sessions/index.js';
import { personOf } from './http.js';
import type { SessionService } from '../sessions/index.js';
import type { OrgTab } from '../feature.js';
import type { ApiKeyInfo, ApiKeyService } from './api-keys.js';
import { ApiKeysPage } from './api-keys-page.js';
import { InvitationsPage, MembersPage } from './member-pages.js';
import { AcceptInvitationPage, ForbiddenPage, InvitationProblemPage, OrgListPage, OrgSettingsPage } from './pages.js';
import { ROLES, can, isPermission, permissions, type Permission, type Role } from './permissions.js';
import type { OrgService } from './service.js';

const NOTICES: Record<string, string> = {
  created: 'The organization is created, and you are its owner.',
  renamed: 'The organization is renamed.',
  mfa_on: 'Two-factor sign-in is now required of every member.',
  mfa_off: 'Two-factor sign-in is no longer required.',
  transferred: 'Ownership is handed over: you are now an admin.',
  deleted: 'The organization is deleted.',
  left: 'You left the organization.',
  role: "The role is changed. It applies from the member's next request.",
  removed: 'The member is removed and has lost access.',
  invited: 'The invitation is on its way. It works once, for 7 days.',
  resent: 'A new invitation is on its way; the previous link no longer works.',
  invitation_revoked: 'The invitation is revoked.',
  key_revoked: 'The API key is revoked: it stops working at once.',
};
// Only the notices there are: a lookup by any other key ("constructor") would find something else.
const noticeQuery = Type.Object(
  { done: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: Object.keys(NOTICES) })) },
  { additionalProperties: false },
);
const noticeOf = (request: FastifyRequest & { query: Static<typeof noticeQuery> }) =>
  request.query.done ? NOTICES[request.query.done] : undefined;

const strict = <T extends Parameters<typeof Type.Object>[0]>(props: T) =>
  Type.Object(props, { additionalProperties: false });
const Id = Type.String({ format: 'uuid' });
const OrgParams = strict({ orgId: Id });
const MemberParams = strict({ orgId: Id, userId: Id });
const InvitationParams = strict({ orgId: Id, invitationId: Id });
const KeyParams = strict({ orgId: Id, keyId: Type.String({ pattern: '^[a-z0-9]{16}$' }) });
const Name = Text({ maxLength: 100 });
// Enums rather than unions of literals: a bad value gets one plain message, not one per literal.
const RoleField = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] });
// Built when the routes are: every feature has declared its permissions by then.
const scopeField = () => Type.Unsafe<Permission>({ type: 'string', enum: permissions() });
const Token = Type.String({ minLength: 1, maxLength: 100 });

/**
 * Errors in a form's body, to show beside its fields. A bad path parameter is not something the
 * form can fix: it goes to the error page.
 */
function bodyErrors(request: FastifyRequest): FieldError[] | undefined {
  const error = request.validationError as (Error & { validationContext?: string }) | undefined;
  if (error && error.validationContext !== 'body') throw error;
  return validationErrors(request);
}

/** Every problem shown somewhere: errors about fields the form does not have get a message above it. */
function stateOf(errors: FieldError[], values: Record<string, string | undefined>, fields: string[]): FormState {
  const stray = errors.filter((e) => !fields.includes(e.field));
  return {
    values,
    errors,
    message: stray.length
      ? `Some fields are invalid: ${stray.map((e) => `${e.field} ${e.message}`).join('; ')}.`
      : undefined,
  };
}

type Back = { href: string; text: string };

/**
 * O1: what the viewer's role does not allow is a 403 page with the way back; anything else goes on to the error pages.
 */
function refused(err: unknown, reply: FastifyReply, back: Back): FastifyReply {
  if (err instanceof AppError && err.status === 403 && !err.redirectTo)
    return reply.code(403).render('Not allowed', <ForbiddenPage message={err.message} back={back} />);
  throw err;
}

/** A form's failure: refused is a 403 page, a missing organization the normal 404, the rest go back to the form. */
function failure(
  err: unknown,
  reply: FastifyReply,
  back: Back,
  show: (state: FormState, status: number) => Promise<FastifyReply>,
): FastifyReply | Promise<FastifyReply> {
  if (!(err instanceof AppError) || err.status >= 500 || err.status === 404 || err.status === 403 || err.redirectTo)
    return refused(err, reply, back);
  return show({ errors: err.fields, message: err.fields ? undefined : err.message }, err.status);
}

/** The server-rendered organization pages (O1, O3, O6). Every action is checked again by the services. */
export function orgPageRoutes(
  app: FastifyInstance,
  orgs: OrgService,
  keys: ApiKeyService,
  sessions: SessionService,
  tabs: readonly OrgTab[],
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const pre = { preHandler: requireUser };
  const csrf = (request: FastifyRequest, reply: FastifyReply) => request.csrfToken(reply);
  const backTo = (orgId: string, path = '', text = 'Back to the organization') => ({
    href: `/orgs/${orgId}${path}`,
    text,
  });
  const clearActive = async (request: FastifyRequest, orgId: string) => {
    const { session } = authOf(request);
    if (session.activeOrgId === orgId) await sessions.write((_tx, s) => s.setActiveOrg(session.id, null));
  };

  // -------------------------------------------------------------------------------------------
  // Your organizations

  async function listPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { createState?: FormState; notice?: string; status?: number } = {},
  ) {
    const { session, user } = authOf(request);
    const mine = await orgs.listMine(user.id);
    return reply
      .code(extra.status ?? 200)
      .render(
        'Organizations',
        <OrgListPage
          csrf={csrf(request, reply)}
          orgs={mine}
          activeOrgId={session.activeOrgId}
          createState={extra.createState}
          notice={extra.notice}
        />,
      );
  }

  r.get('/orgs', { ...pre, schema: { querystring: noticeQuery } }, async (request, reply) =>
    listPage(request, reply, { notice: noticeOf(request) }),
  );

  r.post(
    '/orgs',
    { ...pre, schema: { body: formBody({ name: Name }) }, attachValidation: true },
    async (request, reply) => {
      const values = { name: request.body?.name };
      const name = request.body?.name?.trim();
      const errors = bodyErrors(request) ?? (name ? undefined : [{ field: 'name', message: 'is required' }]);
      if (errors) return listPage(request, reply, { createState: stateOf(errors, values, ['name']), status: 400 });
      const org = await orgs.create(personOf(request), name!, requestContext(request));
      return reply.redirect(`/orgs/${org.id}?done=created`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/switch',
    { ...pre, schema: { params: OrgParams, body: formBody({}) } },
    async (request, reply) => {
      const { orgId } = request.params;
      await orgs.roleIn(authOf(request).user.id, orgId); // not a member: 404
      await sessions.write((_tx, s) => s.setActiveOrg(authOf(request).session.id, orgId));
      return reply.redirect(`/orgs/${orgId}`, 303);
    },
  );

  // -------------------------------------------------------------------------------------------
  // Settings: rename, hand over ownership, delete, leave

  type SettingsExtra = {
    notice?: string;
    renameState?: FormState;
    transferState?: FormState;
    deleteState?: FormState;
    leaveState?: FormState;
    mfaState?: FormState;
    status?: number;
  };
  async function settingsPage(request: FastifyRequest, reply: FastifyReply, orgId: string, extra: SettingsExtra = {}) {
    const actor = personOf(request);
    const org = await orgs.get(actor, orgId);
    const others = can(org.role, 'org.transfer_ownership')
      ? (await orgs.members(actor, orgId)).filter((m) => m.userId !== actor.userId)
      : [];
    const { status, ...states } = extra;
    return reply
      .code(status ?? 200)
      .render(
        org.name,
        <OrgSettingsPage
          tabs={tabs}
          csrf={csrf(request, reply)}
          org={org}
          active={authOf(request).session.activeOrgId === org.id}
          others={others}
          {...states}
        />,
      );
  }

  r.get('/orgs/:orgId', { ...pre, schema: { params: OrgParams, querystring: noticeQuery } }, async (request, reply) =>
    settingsPage(request, reply, request.params.orgId, { notice: noticeOf(request) }),
  );

  r.post(
    '/orgs/:orgId/rename',
    { ...pre, schema: { params: OrgParams, body: formBody({ name: Name }) }, attachValidation: true },
    async (request, reply) => {
      const { orgId } = request.params;
      const values = { name: request.body?.name };
      const name = request.body?.name?.trim();
      const errors = bodyErrors(request) ?? (name ? undefined : [{ field: 'name', message: 'is required' }]);
      if (errors)
        return settingsPage(request, reply, orgId, { renameState: stateOf(errors, values, ['name']), status: 400 });
      try {
        await orgs.rename(personOf(request), orgId, name!, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId), (state, status) =>
          settingsPage(request, reply, orgId, { renameState: { ...state, values }, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}?done=renamed`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/mfa-policy',
    {
      ...pre,
      schema: {
        params: OrgParams,
        body: formBody({ required: Type.Unsafe<'true' | 'false'>({ type: 'string', enum: ['true', 'false'] }) }),
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const required = request.body.required === 'true';
      try {
        await orgs.setMfaPolicy(personOf(request), orgId, required, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId), (state, status) =>
          settingsPage(request, reply, orgId, { mfaState: state, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}?done=${required ? 'mfa_on' : 'mfa_off'}`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/transfer',
    { ...pre, schema: { params: OrgParams, body: formBody({ userId: Id }) }, attachValidation: true },
    async (request, reply) => {
      const { orgId } = request.params;
      const values = { userId: request.body?.userId };
      const errors = bodyErrors(request);
      if (errors)
        return settingsPage(request, reply, orgId, { transferState: stateOf(errors, values, ['userId']), status: 400 });
      try {
        await orgs.transferOwnership(personOf(request), orgId, request.body.userId, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId), (state, status) =>
          settingsPage(request, reply, orgId, { transferState: { ...state, values }, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}?done=transferred`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/delete',
    {
      ...pre,
      schema: { params: OrgParams, body: formBody({ confirmName: Text({ maxLength: 100 }) }) },
      attachValidation: true,
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const values = { confirmName: request.body?.confirmName };
      const errors = bodyErrors(request);
      if (errors)
        return settingsPage(request, reply, orgId, {
          deleteState: stateOf(errors, values, ['confirmName']),
          status: 400,
        });
      try {
        await orgs.remove(personOf(request), orgId, request.body.confirmName, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId), (state, status) =>
          settingsPage(request, reply, orgId, { deleteState: { ...state, values }, status }),
        );
      }
      await clearActive(request, orgId);
      return reply.redirect('/orgs?done=deleted', 303);
    },
  );

  r.post(
    '/orgs/:orgId/leave',
    { ...pre, schema: { params: OrgParams, body: formBody({}) } },
    async (request, reply) => {
      const { orgId } = request.params;
      try {
        await orgs.removeMember(personOf(request), orgId, authOf(request).user.id, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId), (state, status) =>
          settingsPage(request, reply, orgId, { leaveState: state, status }),
        );
      }
      await clearActive(request, orgId);
      return reply.redirect('/orgs?done=left', 303);
    },
  );

  // -------------------------------------------------------------------------------------------
  // Members and invitations (O1, O3)

  async function membersPage(
    request: FastifyRequest,
    reply: FastifyReply,
    orgId: string,
    extra: { notice?: string; tableState?: FormState; inviteState?: FormState; status?: number } = {},
  ) {
    const actor = personOf(request);
    const org = await orgs.get(actor, orgId);
    const members = await orgs.members(actor, orgId).catch((err: unknown) => refused(err, reply, backTo(orgId)));
    if (!Array.isArray(members)) return members;
    const { status, ...states } = extra;
    return reply
      .code(status ?? 200)
      .render(
        `Members · ${org.name}`,
        <MembersPage
          tabs={tabs}
          csrf={csrf(request, reply)}
          org={org}
          me={actor.userId}
          members={members}
          {...states}
        />,
      );
  }

  r.get(
    '/orgs/:orgId/members',
    { ...pre, schema: { params: OrgParams, querystring: noticeQuery } },
    async (request, reply) => membersPage(request, reply, request.params.orgId, { notice: noticeOf(request) }),
  );

  r.post(
    '/orgs/:orgId/members/:userId/role',
    { ...pre, schema: { params: MemberParams, body: formBody({ role: RoleField }) }, attachValidation: true },
    async (request, reply) => {
      const { orgId, userId } = request.params;
      if (bodyErrors(request))
        return membersPage(request, reply, orgId, {
          tableState: { message: 'Choose one of the roles in the list.' },
          status: 400,
        });
      try {
        await orgs.changeRole(personOf(request), orgId, userId, request.body.role, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId, '/members', 'Back to the members'), (state, status) =>
          membersPage(request, reply, orgId, { tableState: state, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}/members?done=role`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/members/:userId/remove',
    { ...pre, schema: { params: MemberParams, body: formBody({}) } },
    async (request, reply) => {
      const { orgId, userId } = request.params;
      try {
        await orgs.removeMember(personOf(request), orgId, userId, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId, '/members', 'Back to the members'), (state, status) =>
          membersPage(request, reply, orgId, { tableState: state, status }),
        );
      }
      if (userId === authOf(request).user.id) {
        await clearActive(request, orgId);
        return reply.redirect('/orgs?done=left', 303);
      }
      return reply.redirect(`/orgs/${orgId}/members?done=removed`, 303);
    },
  );

  r.post(
    '/orgs/:orgId/invitations',
    {
      ...pre,
      schema: { params: OrgParams, body: formBody({ email: Email, role: RoleField }) },
      attachValidation: true,
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const values = { email: request.body?.email, role: request.body?.role };
      const errors = bodyErrors(request);
      if (errors)
        return membersPage(request, reply, orgId, {
          inviteState: stateOf(errors, values, ['email', 'role']),
          status: 400,
        });
      try {
        await orgs.invite(personOf(request), orgId, request.body.email, request.body.role, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId, '/members', 'Back to the members'), (state, status) =>
          membersPage(request, reply, orgId, { inviteState: { ...state, values }, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}/members?done=invited`, 303);
    },
  );

  async function invitationsPage(
    request: FastifyRequest,
    reply: FastifyReply,
    orgId: string,
    extra: { notice?: string; tableState?: FormState; status?: number } = {},
  ) {
    const actor = personOf(request);
    const org = await orgs.get(actor, orgId);
    const invitations = await orgs
      .invitations(actor, orgId)
      .catch((err: unknown) => refused(err, reply, backTo(orgId)));
    if (!Array.isArray(invitations)) return invitations;
    const emails = new Map(
      can(org.role, 'members.read') ? (await orgs.members(actor, orgId)).map((m) => [m.userId, m.email] as const) : [],
    );
    const { status, ...states } = extra;
    return reply
      .code(status ?? 200)
      .render(
        `Invitations · ${org.name}`,
        <InvitationsPage
          tabs={tabs}
          csrf={csrf(request, reply)}
          org={org}
          invitations={invitations}
          emails={emails}
          {...states}
        />,
      );
  }

  r.get(
    '/orgs/:orgId/invitations',
    { ...pre, schema: { params: OrgParams, querystring: noticeQuery } },
    async (request, reply) => invitationsPage(request, reply, request.params.orgId, { notice: noticeOf(request) }),
  );

  for (const [action, done] of [
    ['resend', 'resent'],
    ['revoke', 'invitation_revoked'],
  ] as const) {
    r.post(
      `/orgs/:orgId/invitations/:invitationId/${action}`,
      { ...pre, schema: { params: InvitationParams, body: formBody({}) } },
      async (request, reply) => {
        const { orgId, invitationId } = request.params;
        const run = action === 'resend' ? orgs.resendInvitation : orgs.revokeInvitation;
        try {
          await run(personOf(request), orgId, invitationId, requestContext(request));
        } catch (err) {
          return failure(err, reply, backTo(orgId, '/invitations', 'Back to the invitations'), (state, status) =>
            invitationsPage(request, reply, orgId, { tableState: state, status }),
          );
        }
        return reply.redirect(`/orgs/${orgId}/invitations?done=${done}`, 303);
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // API keys (O6)

  type KeysExtra = {
    notice?: string;
    tableState?: FormState;
    createState?: FormState;
    checked?: Permission[];
    created?: { key: string; info: ApiKeyInfo };
    status?: number;
  };
  async function keysPage(request: FastifyRequest, reply: FastifyReply, orgId: string, extra: KeysExtra = {}) {
    const actor = personOf(request);
    const org = await orgs.get(actor, orgId);
    const list = await keys.list(actor, orgId).catch((err: unknown) => refused(err, reply, backTo(orgId)));
    if (!Array.isArray(list)) return list;
    const { status, ...states } = extra;
    return reply
      .code(status ?? 200)
      .render(
        `API keys · ${org.name}`,
        <ApiKeysPage tabs={tabs} csrf={csrf(request, reply)} org={org} keys={list} {...states} />,
      );
  }

  r.get(
    '/orgs/:orgId/api-keys',
    { ...pre, schema: { params: OrgParams, querystring: noticeQuery } },
    async (request, reply) => keysPage(request, reply, request.params.orgId, { notice: noticeOf(request) }),
  );

  r.post(
    '/orgs/:orgId/api-keys',
    {
      ...pre,
      schema: {
        params: OrgParams,
        body: formBody({
          name: Name,
          scopes: Type.Array(scopeField(), { minItems: 1, maxItems: permissions().length, uniqueItems: true }),
          expiresInDays: Int({ minimum: 1, maximum: 366 }),
        }),
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const body = (request.body ?? {}) as Partial<Record<'name' | 'scopes' | 'expiresInDays', unknown>>;
      const values = {
        name: typeof body.name === 'string' ? body.name : undefined,
        expiresInDays: body.expiresInDays === undefined ? undefined : String(body.expiresInDays),
      };
      const checked = [body.scopes].flat().filter((s): s is Permission => typeof s === 'string' && isPermission(s));
      const name = values.name?.trim();
      const invalid = bodyErrors(request)?.map((e) =>
        e.field.startsWith('scopes')
          ? { field: 'scopes', message: 'choose at least one scope from the list' }
          : e.field === 'expiresInDays'
            ? { field: e.field, message: 'must be a whole number from 1 to 366' }
            : e,
      );
      const errors = invalid ?? (name ? undefined : [{ field: 'name', message: 'is required' }]);
      if (errors)
        return keysPage(request, reply, orgId, {
          createState: stateOf(errors, values, ['name', 'scopes', 'expiresInDays']),
          checked,
          status: 400,
        });
      let created: { key: string; info: ApiKeyInfo };
      try {
        created = await keys.create(
          personOf(request),
          orgId,
          { name: name!, scopes: request.body.scopes, expiresInDays: request.body.expiresInDays },
          requestContext(request),
        );
      } catch (err) {
        return failure(err, reply, backTo(orgId, '/api-keys', 'Back to the API keys'), (state, status) =>
          keysPage(request, reply, orgId, { createState: { ...state, values }, checked, status }),
        );
      }
      // Shown on this response only (Cache-Control: no-store), never stored or redirected to.
      return keysPage(request, reply, orgId, { created, status: 201 });
    },
  );

  r.post(
    '/orgs/:orgId/api-keys/:keyId/revoke',
    { ...pre, schema: { params: KeyParams, body: formBody({}) } },
    async (request, reply) => {
      const { orgId, keyId } = request.params;
      try {
        await keys.revoke(personOf(request), orgId, keyId, requestContext(request));
      } catch (err) {
        return failure(err, reply, backTo(orgId, '/api-keys', 'Back to the API keys'), (state, status) =>
          keysPage(request, reply, orgId, { tableState: state, status }),
        );
      }
      return reply.redirect(`/orgs/${orgId}/api-keys?done=key_revoked`, 303);
    },
  );

  // -------------------------------------------------------------------------------------------
  // Accepting an invitation from its mail (O3)

  const problem = (reply: FastifyReply, message: string, status = 400) =>
    reply.code(status).render('Invitation problem', <InvitationProblemPage message={message} />);
  const invalidLink = 'This invitation link is incomplete or damaged: open it again from the e-mail.';

  r.get(
    '/invitations/accept',
    {
      ...pre,
      schema: { querystring: strict({ org: Type.String({ maxLength: 100 }), token: Type.String({ maxLength: 100 }) }) },
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) return problem(reply, invalidLink);
      return reply.render(
        'Join an organization',
        <AcceptInvitationPage
          csrf={csrf(request, reply)}
          email={authOf(request).user.email}
          org={request.query.org}
          token={request.query.token}
        />,
      );
    },
  );

  r.post(
    '/invitations/accept',
    { ...pre, schema: { body: formBody({ org: Id, token: Token }) }, attachValidation: true },
    async (request, reply) => {
      if (bodyErrors(request)) return problem(reply, invalidLink);
      try {
        const org = await orgs.acceptInvitation(
          authOf(request).user,
          request.body.org,
          request.body.token,
          requestContext(request),
        );
        return reply.redirect(`/orgs/${org.id}`, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        return problem(reply, err.message, err.status);
      }
    },
  );
}

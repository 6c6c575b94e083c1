import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { hasSecondFactor, type MfaService } from '../mfa/index.js';
import type { Org, OrgService } from '../orgs/index.js';
import type { Clock } from '../platform/clock.js';
import { appendAudit, userStream } from '../platform/audit/events.js';
import type { Tenancy } from '../platform/db/database.js';
import { requestContext } from '../platform/http/request-context.js';
import type { FormState } from '../platform/views/forms.js';
import type { Authenticated, Factor } from '../sessions/index.js';
import type { ClientRegistry, ClientView } from './clients.js';
import { oidcError } from './errors.js';
import { AuthorizePage, ContinuePage, SecondFactorNeededPage } from './pages.js';
import { ACR_ONE_FACTOR, ACR_TWO_FACTORS, INTERACTION_PATH, resourceOf, SCOPES } from './provider.js';
import * as repo from './repository.js';

const uidParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
const decisionBody = Type.Object(
  {
    _csrf: Type.Optional(Type.String({ maxLength: 200 })),
    decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    org_id: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

/**
 * RFC 8176 names for the factors a session presented (a synced passkey is a software key). The RFC
 * has none for a sign-in at an upstream provider: `fed`, as other providers say it, documented.
 */
const AMR: Record<Factor, string> = {
  password: 'pwd',
  magic_link: 'otp',
  external: 'fed',
  totp: 'otp',
  recovery_code: 'otp',
  passkey: 'hwk',
  synced_passkey: 'swk',
};

export function amrOf(auth: Authenticated): string[] {
  const amr = [...new Set(auth.session.factors.map((f) => AMR[f]))];
  return auth.session.authLevel >= 2 ? [...amr, 'mfa'] : amr;
}

const acrOf = (auth: Authenticated) => (auth.session.authLevel >= 2 ? ACR_TWO_FACTORS : ACR_ONE_FACTOR);

interface Deps {
  provider: () => Provider;
  issuer: string;
  db: Tenancy;
  clock: Clock;
  clients: ClientRegistry;
  orgs: OrgService;
  mfa: MfaService;
}

/**
 * The sign-in of a product (A10), on Rampart's own pages and rules: the existing session (or the
 * sign-in page), the organization's MFA requirement and the product's `acr_values` / `max_age`,
 * the choice of organization, and consent for third-party products.
 */
export function interactionRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const here = (uid: string) => `${INTERACTION_PATH}/${uid}`;

  async function details(request: FastifyRequest, reply: FastifyReply, uid: string) {
    try {
      const d = await deps.provider().interactionDetails(request.raw, reply.raw);
      if (d.uid !== uid) throw new Error('another interaction');
      return d;
    } catch {
      throw oidcError('sign_in_request_expired');
    }
  }

  /** What stands between this session and the product, or undefined when nothing does. */
  async function step(
    request: FastifyRequest,
    reply: FastifyReply,
    uid: string,
    chosenOrgId: string | undefined,
    decision: 'allow' | 'deny' | undefined,
    state?: FormState,
  ) {
    const d = await details(request, reply, uid);
    const auth = request.auth;
    if (!auth?.user.emailVerified) return reply.redirect(`/signin?next=${encodeURIComponent(here(uid))}`, 303);
    const client = await deps.clients.get(String(d.params.client_id));
    if (!client) throw oidcError('sign_in_request_expired');
    if (decision === 'deny') return finish(request, reply, client.name, { error: 'access_denied' });

    const scopes = String(d.params.scope ?? '')
      .split(' ')
      .filter((s) => (SCOPES as readonly string[]).includes(s));
    const wantsOrg = scopes.includes('org');
    const orgs = wantsOrg ? await deps.orgs.listMine(auth.user.id) : [];
    const hinted = typeof d.params.org_id === 'string' ? d.params.org_id : undefined;
    if (hinted && !orgs.some((o) => o.id === hinted)) throw oidcError('org_choice_invalid');
    const orgId = chosenOrgId ?? hinted ?? (orgs.length === 1 ? orgs[0]!.id : undefined);
    const org = orgs.find((o) => o.id === orgId);
    if (chosenOrgId && !org) {
      const errors = [{ field: 'org_id', message: 'Choose one of your organizations.' }];
      return authorizePage(reply, request, uid, client, scopes, orgs, undefined, { errors }, 400);
    }

    // Freshness and second factor, asked for by the product or required by the organization.
    const maxAge = typeof d.params.max_age === 'number' ? d.params.max_age : Number(d.params.max_age ?? Number.NaN);
    const ageS = (deps.clock.now().getTime() - auth.session.authenticatedAt.getTime()) / 1000;
    const wantsMfa = String(d.params.acr_values ?? '')
      .split(' ')
      .includes(ACR_TWO_FACTORS);
    const stepUp = `/account/step-up?next=${encodeURIComponent(here(uid))}`;
    if ((wantsMfa || org?.requireMfa) && auth.session.authLevel < 2) {
      const has = hasSecondFactor(await deps.mfa.state(auth.user.id));
      return reply.render(
        'Confirm with your second factor',
        <SecondFactorNeededPage
          clientName={client.name}
          stepUp={stepUp}
          setUp={has ? undefined : `/account/totp/setup?next=${encodeURIComponent(here(uid))}`}
          requiredBy={org?.requireMfa ? org.name : undefined}
        />,
      );
    }
    if (Number.isFinite(maxAge) && ageS > maxAge) return reply.redirect(stepUp, 303);

    const needsChoice = wantsOrg && orgs.length > 1 && !org;
    if (needsChoice || (!client.firstParty && decision !== 'allow') || state)
      return authorizePage(reply, request, uid, client, scopes, orgs, orgId, state);
    return grantAndFinish(request, reply, auth, client, scopes, org);
  }

  function authorizePage(
    reply: FastifyReply,
    request: FastifyRequest,
    uid: string,
    client: ClientView,
    scopes: string[],
    orgs: Org[],
    chosenOrg: string | undefined,
    state?: FormState,
    status = 200,
  ) {
    return reply
      .code(status)
      .render(
        `Sign in to ${client.name}`,
        <AuthorizePage
          action={here(uid)}
          csrf={request.csrfToken(reply)}
          clientName={client.name}
          firstParty={client.firstParty}
          scopes={scopes}
          orgs={orgs.map((o) => ({ id: o.id, name: o.name, role: o.role }))}
          chosenOrg={chosenOrg}
          state={state}
        />,
      );
  }

  async function grantAndFinish(
    request: FastifyRequest,
    reply: FastifyReply,
    auth: Authenticated,
    client: ClientView,
    scopes: string[],
    org: Org | undefined,
  ) {
    const provider = deps.provider();
    const grant = new provider.Grant({ accountId: auth.user.id, clientId: client.clientId });
    grant.addOIDCScope(scopes.join(' '));
    grant.addResourceScope(
      resourceOf(deps.issuer, client.clientId),
      scopes.filter((s) => s !== 'offline_access').join(' '),
    );
    const grantId = await grant.save();
    const amr = amrOf(auth);
    const acr = acrOf(auth);
    await deps.db.withSystem(async (tx) => {
      await repo.insertGrant(tx, {
        grant_id: grantId,
        client_id: client.clientId,
        user_id: auth.user.id,
        chosen_org_id: org?.id ?? null,
        session_id: auth.session.id,
        amr,
        acr,
        auth_time: auth.session.authenticatedAt,
        created_at: deps.clock.now(),
      });
      await appendAudit(
        tx,
        {
          stream: userStream(auth.user.id),
          action: 'oidc.consent_given',
          actor: `user:${auth.user.id}`,
          target: `client:${client.clientId}`,
          context: requestContext(request),
          payload: { client: client.clientId, org: org?.id ?? null, scopes, firstParty: client.firstParty },
        },
        deps.clock,
      );
    });
    return finish(request, reply, client.name, {
      login: {
        accountId: auth.user.id,
        acr,
        amr,
        ts: Math.floor(auth.session.authenticatedAt.getTime() / 1000),
        remember: false,
      },
      consent: { grantId },
    });
  }

  /**
   * Records the outcome with the provider and answers with a page that moves on to it. Not a
   * redirect: this request may be the end of a form's redirect chain (the sign-in, step-up or
   * consent form), and browsers check a form's CSP form-action against every redirect of it, so a
   * chain ending at the product's callback would be blocked. The page's own navigation is not a
   * form submission.
   */
  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    clientName: string,
    result: Record<string, unknown>,
  ) {
    if (result.error === 'access_denied' && request.auth) {
      const userId = request.auth.user.id;
      await deps.db.withSystem((tx) =>
        appendAudit(
          tx,
          {
            stream: userStream(userId),
            action: 'oidc.consent_denied',
            actor: `user:${userId}`,
            context: requestContext(request),
          },
          deps.clock,
        ),
      );
    }
    const to = await deps
      .provider()
      .interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
    reply.header('refresh', `0; url=${to}`);
    return reply.render(`Continue to ${clientName}`, <ContinuePage href={to} clientName={clientName} />);
  }

  r.get('/oidc/interaction/:uid', { schema: { params: uidParams } }, (request, reply) =>
    step(request, reply, request.params.uid, undefined, undefined),
  );
  r.post('/oidc/interaction/:uid', { schema: { params: uidParams, body: decisionBody } }, (request, reply) =>
    step(request, reply, request.params.uid, request.body.org_id, request.body.decision),
  );
}

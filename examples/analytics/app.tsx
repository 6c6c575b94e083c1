import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import {
  ACR_MFA,
  createVerifier,
  hasPermissions,
  isRampartAuthError,
  rampartBackchannelLogout,
  type RampartIdentity,
  type RampartVerifier,
} from '../../packages/node/src/index.js';
import { dashboardFor, invoicesCsv, invoicesFor } from './data.js';
import { integrationRoutes } from './integrations.js';
import {
  BillingPage,
  DashboardPage,
  ForbiddenPage,
  Landing,
  MessagePage,
  type Nav,
  page,
  type TeamSettings,
  TeamPage,
  type Viewer,
} from './pages.js';
import { type ProductSession, SessionStore } from './sessions.js';
import { CSS, FAVICON } from './styles.js';

export interface AnalyticsOptions {
  /** Rampart's public base URL: the issuer of its tokens. */
  rampartUrl: string;
  /** This product's public base URL, e.g. http://localhost:4100. */
  publicUrl: string;
  clientId: string;
  clientSecret: string;
  /** Fastify's logger (default off). */
  logger?: boolean;
}

/** The permission Team settings needs: Rampart grants it to owners and admins, not to members or viewers. */
export const TEAM_PERMISSION = 'members.change_role';
const COOKIE = 'acme_session';
/** Refresh a little before `exp`, so a page never renders with a token about to lapse. */
const REFRESH_MARGIN_MS = 30_000;

export interface AnalyticsApp {
  app: FastifyInstance;
  sessions: SessionStore;
  verifier: RampartVerifier;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The product session of the cookie, if any. */
    product: ProductSession | undefined;
    /** The verified caller of a signed-in request. */
    viewer: Viewer | undefined;
  }
}

export async function buildAnalytics(options: AnalyticsOptions): Promise<AnalyticsApp> {
  const issuer = options.rampartUrl.replace(/\/$/, '');
  const base = options.publicUrl.replace(/\/$/, '');
  const redirectUri = `${base}/callback`;
  const insecure = new URL(issuer).protocol === 'http:';
  const config = await oidc.discovery(
    new URL(issuer),
    options.clientId,
    undefined,
    oidc.ClientSecretBasic(options.clientSecret),
    insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  const verifier = createVerifier({ issuer, audience: options.clientId });
  const sessions = new SessionStore();
  const settings = new Map<string, TeamSettings>();
  const secureCookie = new URL(base).protocol === 'https:' || new URL(base).hostname === 'localhost';

  const app = Fastify({ logger: options.logger ?? false });
  await app.register(cookie);
  await app.register(formbody);
  app.decorateRequest('product', undefined);
  app.decorateRequest('viewer', undefined);

  // Back-channel logout (the SDK checks the logout token): every product session of that Rampart
  // session (or, with only `sub`, of that user) is signed out; its next request sees it.
  await app.register(rampartBackchannelLogout, {
    issuer,
    clientId: options.clientId,
    verifier,
    path: '/backchannel-logout',
    onLogout: ({ sid, sub }) => {
      const ended = sessions.endByRampart({ sid, sub });
      app.log.info({ sid, sub, ended }, 'back-channel logout');
    },
    onRejected: (reason) => app.log.warn({ reason }, 'logout token refused'),
  });

  const rampartOrigin = new URL(issuer).origin;
  app.addHook('onSend', async (_request, reply) => {
    reply.header(
      'content-security-policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' ${rampartOrigin}; ` +
        "frame-ancestors 'none'; base-uri 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    // Not no-referrer: with it Chromium sends `Origin: null` on form posts, which the check below refuses.
    reply.header('referrer-policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  // A form POST must come from this product's own pages (SameSite=Lax already keeps the cookie off
  // cross-site POSTs; this also refuses a missing Origin).
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.url === '/backchannel-logout') return;
    if (request.headers.origin !== new URL(base).origin) {
      return reply
        .code(403)
        .type('text/html')
        .send(
          page(
            'Refused',
            <MessagePage title="Refused">
              <p>This form was not sent from Acme Analytics.</p>
            </MessagePage>,
          ),
        );
    }
  });

  function setCookie(reply: FastifyReply, session: ProductSession) {
    reply.setCookie(COOKIE, session.id, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookie });
  }

  function sessionFor(request: FastifyRequest, reply: FastifyReply): ProductSession {
    const existing = sessions.get(request.cookies[COOKIE]);
    if (existing) return existing;
    const created = sessions.create();
    setCookie(reply, created);
    return created;
  }

  /** Stores a token response (a refresh answer may lack an ID token or a new refresh token: the old ones stay). */
  function keep(session: ProductSession, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers) {
    const claims = tokens.claims();
    session.tokens = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token ?? session.tokens?.refreshToken,
      idToken: tokens.id_token ?? session.tokens?.idToken ?? '',
    };
    if (claims) {
      session.sub = claims.sub;
      if (typeof claims.sid === 'string') session.sid = claims.sid;
      if (typeof claims.email === 'string') session.email = claims.email;
    }
    session.endedBy = undefined;
  }

  /**
   * Trades the refresh token for new tokens; on failure (revoked, expired) the person is signed out.
   * Concurrent requests of one session share one refresh: Rampart rotates refresh tokens, and a spent
   * one presented again (two tabs refreshing at once) would count as theft and end the session.
   */
  const refreshing = new WeakMap<ProductSession, Promise<boolean>>();
  function refresh(session: ProductSession): Promise<boolean> {
    let pending = refreshing.get(session);
    if (!pending) {
      pending = refreshOnce(session).finally(() => refreshing.delete(session));
      refreshing.set(session, pending);
    }
    return pending;
  }

  async function refreshOnce(session: ProductSession): Promise<boolean> {
    const token = session.tokens?.refreshToken;
    if (!token) {
      sessions.signOut(session, 'refresh_failed');
      return false;
    }
    try {
      keep(session, await oidc.refreshTokenGrant(config, token));
      return true;
    } catch (err) {
      app.log.info({ err }, 'refresh failed: signing out');
      sessions.signOut(session, 'refresh_failed');
      return false;
    }
  }

  /** The verified identity of the session's access token, refreshing it when it expired or is about to. */
  async function identify(session: ProductSession): Promise<RampartIdentity | undefined> {
    for (let attempt = 0; attempt < 2 && session.tokens; attempt++) {
      let identity: RampartIdentity;
      try {
        identity = await verifier.verify(session.tokens.accessToken);
      } catch (err) {
        if (!isRampartAuthError(err) || err.code === 'jwks_unavailable') throw err;
        // Expired (or otherwise refused): one refresh, then the new token must verify.
        if (attempt > 0 || !(await refresh(session))) return undefined;
        continue;
      }
      if (identity.sessionId && !session.sid) session.sid = identity.sessionId;
      if (identity.expiresAt.getTime() - Date.now() > REFRESH_MARGIN_MS || attempt > 0) return identity;
      if (!(await refresh(session))) return undefined;
    }
    return undefined;
  }

  const html = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html').send(body);

  function signedOutNotice(session: ProductSession | undefined): string | undefined {
    if (session?.endedBy === 'rampart') {
      return 'Rampart signed you out of Acme Analytics: your session or your access there changed.';
    }
    if (session?.endedBy === 'refresh_failed') {
      return 'Rampart no longer renews your access (your session there ended, or your membership changed).';
    }
    return undefined;
  }

  /** Pre-handler of every signed-in page: sends a signed-out person to the landing page. */
  async function signedIn(request: FastifyRequest, reply: FastifyReply) {
    const session = sessions.get(request.cookies[COOKIE]);
    request.product = session;
    const identity = session ? await identify(session) : undefined;
    if (!session || !identity) {
      const notice = signedOutNotice(session);
      if (session?.endedBy) session.endedBy = undefined;
      const next = request.method === 'GET' ? safeNext(request.url) : '/';
      return html(reply, page('Sign in', <Landing notice={notice} next={next} />), notice ? 401 : 200);
    }
    request.viewer = { email: session.email, identity };
  }

  function render(
    request: FastifyRequest,
    reply: FastifyReply,
    title: string,
    current: Nav,
    body: preact.VNode,
    status = 200,
  ) {
    return html(reply, page(title, body, { viewer: request.viewer, current, here: request.url }), status);
  }

  /** requirePermission semantics (every permission held, else 403), answered with a page instead of JSON. */
  const requirePermission =
    (what: string, ...permissions: string[]) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const identity = request.viewer!.identity;
      if (hasPermissions(identity, permissions)) return;
      return html(
        reply,
        page(
          `You cannot open ${what}`,
          <ForbiddenPage what={what} permission={permissions.join(', ')} role={identity.role} />,
          { viewer: request.viewer, current: 'none', here: request.url },
        ),
        403,
      );
    };

  /** Step-up: a one-factor token is sent back to Rampart with acr_values asking for the second factor. */
  const requireSecondFactor = (next: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.viewer!.identity.acr === ACR_MFA) return;
    return reply.redirect(`/login?mfa=1&next=${encodeURIComponent(next)}`, 303);
  };

  app.get('/app.css', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('text/css').send(CSS),
  );

  app.get('/favicon.svg', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON),
  );

  integrationRoutes(app, {
    rampartUrl: issuer,
    signedIn,
    render: (request, reply, title, body, status) => render(request, reply, title, 'integrations', body, status),
  });

  app.get('/', { preHandler: signedIn }, async (request, reply) =>
    render(request, reply, 'Dashboard', 'dashboard', <DashboardPage data={dashboardFor(orgKey(request))} />),
  );

  app.get<{ Querystring: { saved?: string } }>(
    '/team',
    { preHandler: [signedIn, requirePermission('Team settings', TEAM_PERMISSION)] },
    async (request, reply) =>
      render(
        request,
        reply,
        'Team settings',
        'team',
        <TeamPage settings={settingsOf(request)} saved={request.query.saved === '1'} />,
      ),
  );

  app.post<{ Body: Record<string, string | undefined> }>(
    '/team',
    { preHandler: [signedIn, requirePermission('Team settings', TEAM_PERMISSION)] },
    async (request, reply) => {
      const days = Number(request.body?.retention_days);
      settings.set(orgKey(request), {
        retentionDays: [30, 90, 365].includes(days) ? days : 90,
        shareWithViewers: request.body?.share_with_viewers === 'on',
      });
      return reply.redirect('/team?saved=1', 303);
    },
  );

  app.get('/billing', { preHandler: [signedIn, requireSecondFactor('/billing')] }, async (request, reply) =>
    render(request, reply, 'Billing export', 'billing', <BillingPage invoices={invoicesFor(orgKey(request))} />),
  );

  app.get('/billing/export.csv', { preHandler: [signedIn, requireSecondFactor('/billing')] }, async (request, reply) =>
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="invoices.csv"')
      .send(invoicesCsv(invoicesFor(orgKey(request)))),
  );

  /** Starts a sign-in at Rampart: code + PKCE S256, state and nonce kept in the product session. */
  app.get<{ Querystring: { next?: string; mfa?: string } }>('/login', async (request, reply) => {
    const session = sessionFor(request, reply);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const secondFactor = request.query.mfa === '1';
    session.pending = {
      codeVerifier,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      next: safeNext(request.query.next),
      secondFactor,
    };
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: 'openid email org connections',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: session.pending.state,
      nonce: session.pending.nonce,
    };
    if (secondFactor) params.acr_values = ACR_MFA;
    // Stepping up keeps the organization the person is working in.
    const current = session.tokens ? await identify(session).catch(() => undefined) : undefined;
    if (current?.orgId) params.org_id = current.orgId;
    return reply.redirect(oidc.buildAuthorizationUrl(config, params).href, 303);
  });

  app.get('/callback', async (request, reply) => {
    const session = sessions.get(request.cookies[COOKIE]);
    const pending = session?.pending;
    if (!session || !pending) {
      return html(
        reply,
        page(
          'Sign-in expired',
          <MessagePage title="That sign-in has expired" signIn>
            <p>Start again from here.</p>
          </MessagePage>,
        ),
        400,
      );
    }
    session.pending = undefined;
    const url = new URL(request.url, base);
    const error = url.searchParams.get('error');
    if (error) {
      return html(
        reply,
        page(
          'Not signed in',
          <MessagePage title="You were not signed in" signIn>
            <p>Rampart answered: {url.searchParams.get('error_description') ?? error}</p>
          </MessagePage>,
        ),
        400,
      );
    }
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      app.log.warn({ err }, 'code exchange failed');
      return html(
        reply,
        page(
          'Not signed in',
          <MessagePage title="You were not signed in" signIn>
            <p>The answer from Rampart could not be checked. Try again.</p>
          </MessagePage>,
        ),
        400,
      );
    }
    keep(session, tokens);
    // A new session id after sign-in (no fixation of a cookie set before it).
    sessions.delete(session.id);
    const fresh = sessions.create();
    Object.assign(fresh, { ...session, id: fresh.id });
    setCookie(reply, fresh);
    const identity = await identify(fresh);
    if (pending.secondFactor && identity?.acr !== ACR_MFA) {
      return html(
        reply,
        page(
          'Second factor needed',
          <MessagePage title="A second factor is needed">
            <p>Billing export needs a sign-in with a second factor, and this one had none.</p>
          </MessagePage>,
          { viewer: identity && { email: fresh.email, identity } },
        ),
        403,
      );
    }
    return reply.redirect(pending.next, 303);
  });

  /** Role changes arrive with the next token: this asks for one now. */
  app.post<{ Body: { next?: string } }>('/refresh', async (request, reply) => {
    const session = sessions.get(request.cookies[COOKIE]);
    if (session?.tokens) await refresh(session);
    return reply.redirect(safeNext(request.body?.next), 303);
  });

  /** RP-initiated logout: the product session ends here, then Rampart's end-session endpoint ends Rampart's. */
  app.post('/logout', async (request, reply) => {
    const session = sessions.get(request.cookies[COOKIE]);
    const idToken = session?.tokens?.idToken;
    if (session) sessions.delete(session.id);
    reply.clearCookie(COOKIE, { path: '/' });
    if (!idToken) return reply.redirect('/signed-out', 303);
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: `${base}/signed-out`,
    });
    return reply.redirect(end.href, 303);
  });

  app.get('/signed-out', async (_request, reply) =>
    html(
      reply,
      page(
        'Signed out',
        <MessagePage title="You are signed out" signIn>
          <p>You are signed out of Acme Analytics and of Rampart.</p>
        </MessagePage>,
      ),
    ),
  );

  function orgKey(request: FastifyRequest): string {
    return request.viewer?.identity.orgId ?? request.viewer?.identity.userId ?? 'none';
  }

  function settingsOf(request: FastifyRequest): TeamSettings {
    return settings.get(orgKey(request)) ?? { retentionDays: 90, shareWithViewers: true };
  }

  return { app, sessions, verifier };
}

/** Only a path of this product (never `//evil.example` or an absolute URL). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';
}

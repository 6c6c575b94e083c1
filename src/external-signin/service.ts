import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { IdentityService, SignedIn, SignInOption } from '../identity/index.js';
import type { MfaService } from '../mfa/index.js';
import { appendAudit, systemStream, userStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import { hashToken, looksLikeToken, randomToken, tokenMatches } from '../platform/crypto/tokens.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import { enforce } from '../platform/limits/enforce.js';
import type { Limits } from '../platform/limits/limiter.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Authenticated, Session } from '../sessions/index.js';
import { externalError } from './errors.js';
import type { UpstreamRegistry } from './providers.js';
import * as repo from './repository.js';

/*
 * A7: sign-in through upstream OpenID providers with openid-client: authorization code, PKCE (S256),
 * state and nonce. A flow is kept server-side, found by the hash of its state, bound to the browser
 * that started it by a random cookie, single use and ten minutes long. A person there is (issuer,
 * sub); an address only ever makes a new account, and only when the upstream verified it.
 */

/** How long a person has at the upstream provider before the flow is refused. */
export const FLOW_TTL_MS = 10 * 60 * 1000;
/** How long a discovered provider configuration (endpoints, keys) is used before it is fetched again. */
const CONFIG_TTL_MS = 60 * 60 * 1000;
const RETRY_AFTER_FAILURE_MS = 60 * 1000;
/** How long the sign-in page waits for a provider's discovery before drawing its button anyway. */
const PAGE_WAIT_MS = 3000;
const SCOPE = 'openid email';
// The shape the users table accepts, checked here so an odd claim is a refusal and never a database error.
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export interface ExternalSignInDeps {
  db: Tenancy;
  keyring: Keyring;
  clock: Clock;
  limits: Limits;
  upstreams: UpstreamRegistry;
  identity: IdentityService;
  mfa: MfaService;
  baseUrl: string;
  dev: boolean;
  logger: Logger;
  /** How Rampart reaches upstream providers (tests: a fetch that trusts their test CA). Default: fetch. */
  fetch?: oidc.CustomFetch;
}

export type Purpose = { kind: 'sign_in'; next?: string } | { kind: 'link'; session: Session };

export interface Started {
  /** Where the browser goes now: the upstream's authorization endpoint. */
  url: string;
  /** The value of the browser-binding cookie (the one it already had, or a new one). */
  browser: string;
}

export type Finished =
  | { kind: 'signed_in'; signedIn: SignedIn; next?: string }
  | { kind: 'linked'; providerName: string };

export interface LinkedIdentity {
  id: string;
  providerId: string;
  providerName: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface ExternalSignInService {
  /** The "Continue with …" buttons: one per configured provider. */
  options(): Promise<SignInOption[]>;
  /** The configured providers, with the site their forms lead to (for the page's CSP form-action). */
  providers(): Promise<Array<{ id: string; name: string; target: string }>>;
  /** The redirect URI to register at the upstream provider. */
  redirectUri(providerId: string): string;
  /** Starts a sign-in or (signed in, after step-up) a link: the URL to send the browser to. */
  start(providerId: string, purpose: Purpose, browser: string | undefined, context: RequestContext): Promise<Started>;
  /** The upstream's answer: signs in, makes a verified account, or links; refuses everything else. */
  finish(
    providerId: string,
    query: string,
    browser: string | undefined,
    auth: Authenticated | undefined,
    context: RequestContext,
  ): Promise<Finished>;
  /** A person's linked upstream identities. */
  linked(userId: string): Promise<LinkedIdentity[]>;
  /** Removes one of them (step-up); never the last way an account without a password signs in. */
  unlink(session: Session, id: string, context: RequestContext): Promise<void>;
  /** Deletes flows long expired. */
  sweep(): Promise<void>;
}

export const pkceContext = (stateHash: string) => ({ purpose: 'external sign-in pkce', flow: stateHash });
const expired = () => externalError('external_sign_in_expired');
const MINUTE = 60;

export function createExternalSignInService(deps: ExternalSignInDeps): ExternalSignInService {
  const { db, clock, upstreams, identity } = deps;
  const base = deps.baseUrl.replace(/\/$/, '');
  const redirectUri = (id: string) => `${base}/sign-in/external/${encodeURIComponent(id)}/callback`;
  const limits = {
    startByIp: deps.limits.limiter('external_start_ip', { points: 30, durationSec: 15 * MINUTE }),
    callbackByIp: deps.limits.limiter('external_callback_ip', { points: 30, durationSec: 15 * MINUTE }),
  };
  const configs = new Map<string, { key: string; at: number; config: Promise<oidc.Configuration>; failed?: true }>();

  /**
   * The discovered configuration of a provider, cached per instance (the row is read every time). A
   * failed discovery is not tried again for a minute, so pages never wait on an unreachable provider.
   */
  async function configOf(id: string): Promise<{ config: oidc.Configuration; name: string }> {
    const up = await upstreams.withSecret(id);
    if (!up) throw externalError('upstream_not_found');
    const key = `${up.issuer}\n${up.clientId}\n${up.createdAt.getTime()}`;
    let cached = configs.get(id);
    const age = cached ? Date.now() - cached.at : 0;
    if (!cached || cached.key !== key || age > (cached.failed ? RETRY_AFTER_FAILURE_MS : CONFIG_TTL_MS)) {
      const insecure = deps.dev && new URL(up.issuer).protocol === 'http:';
      const config = oidc.discovery(
        new URL(up.issuer),
        up.clientId,
        undefined,
        oidc.ClientSecretBasic(up.clientSecret),
        {
          ...(deps.fetch ? { [oidc.customFetch]: deps.fetch } : {}),
          // Dev mode only, and only for an http issuer on this machine (providers.ts refuses any other).
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        },
      );
      cached = { key, at: Date.now(), config };
      configs.set(id, cached);
      const entry = cached;
      config.catch((err) => {
        entry.failed = true;
        deps.logger.warn({ provider: id, refusal: describe(err) }, 'upstream provider discovery failed');
      });
    }
    try {
      const config = await cached.config;
      if (deps.fetch) config[oidc.customFetch] = deps.fetch;
      return { config, name: up.name };
    } catch {
      throw externalError('upstream_unavailable');
    }
  }

  /** The configured providers, each with the site its sign-in form leads to (its authorization endpoint). */
  async function providers() {
    return Promise.all(
      (await upstreams.list()).map(async (u) => {
        const waiting = new AbortController();
        const endpoint = await Promise.race([
          configOf(u.id).then(
            ({ config }) => config.serverMetadata().authorization_endpoint,
            () => undefined, // unreachable now: the button still shows, and says so when used
          ),
          sleep(PAGE_WAIT_MS, undefined, { signal: waiting.signal }).catch(() => undefined),
        ]).finally(() => waiting.abort());
        return { id: u.id, name: u.name, target: new URL(endpoint ?? u.issuer).origin };
      }),
    );
  }

  async function failed(userId: string | null, providerId: string, err: unknown, context: RequestContext) {
    deps.logger.warn({ provider: providerId, refusal: describe(err) }, 'upstream sign-in answer refused');
    await db.withSystem((tx) =>
      appendAudit(
        tx,
        {
          stream: userId ? userStream(userId) : systemStream,
          action: 'external.sign_in_failed',
          context,
          payload: { provider: providerId, reason: reasonOf(err) },
        },
        clock,
      ),
    );
    return externalError('external_sign_in_failed');
  }

  return {
    async options() {
      return (await providers()).map((u) => ({
        action: `/sign-in/external/${encodeURIComponent(u.id)}`,
        label: u.name,
        target: u.target,
      }));
    },
    providers,
    redirectUri,

    async start(providerId, purpose, presentedBrowser, context) {
      enforce(await limits.startByIp.consume(context.ip ?? 'unknown'));
      if (purpose.kind === 'link') await deps.mfa.requireRecent(purpose.session);
      const { config } = await configOf(providerId);
      const state = randomToken();
      const stateHash = hashToken(state);
      const browser = presentedBrowser && looksLikeToken(presentedBrowser) ? presentedBrowser : randomToken();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const now = clock.now();
      await db.withSystem((tx) =>
        repo.insertFlow(tx, {
          state_hash: stateHash,
          provider_id: providerId,
          browser_hash: hashToken(browser),
          nonce,
          code_verifier_sealed: seal(deps.keyring, verifier, pkceContext(stateHash)),
          purpose: purpose.kind,
          user_id: purpose.kind === 'link' ? purpose.session.userId : null,
          next: purpose.kind === 'sign_in' ? (purpose.next ?? null) : null,
          created_at: now,
          expires_at: new Date(now.getTime() + FLOW_TTL_MS),
        }),
      );
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(providerId),
        scope: SCOPE,
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, browser };
    },

    async finish(providerId, query, browser, auth, context) {
      enforce(await limits.callbackByIp.consume(context.ip ?? 'unknown'));
      const params = new URLSearchParams(query);
      const state = params.get('state') ?? '';
      if (!looksLikeToken(state) || !browser) throw expired();
      const stateHash = hashToken(state);
      // Single use: spent before the code is exchanged, so a replayed answer finds it used.
      const flow = await db.withSystem(async (tx) => {
        const row = await repo.lockFlow(tx, stateHash);
        if (!row || row.used_at || row.expires_at.getTime() <= clock.now().getTime()) return undefined;
        // Another browser presenting this state learns nothing and does not spend it.
        if (row.provider_id !== providerId || !tokenMatches(browser, row.browser_hash)) return undefined;
        await repo.spendFlow(tx, stateHash, clock.now());
        return row;
      });
      if (!flow) throw expired();
      if (flow.purpose === 'link' && auth?.user.id !== flow.user_id) throw expired();

      const { config, name } = await configOf(providerId);
      let claims: oidc.IDToken;
      let email: unknown;
      let emailVerified: unknown;
      try {
        const verifier = open(deps.keyring, flow.code_verifier_sealed, pkceContext(stateHash)).toString('utf8');
        const tokens = await oidc.authorizationCodeGrant(config, new URL(`${redirectUri(providerId)}?${query}`), {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims();
        if (!idClaims) throw new Error('no ID token');
        claims = idClaims;
        ({ email, email_verified: emailVerified } = claims);
        // Many providers put the address in the userinfo answer only (scope claims, OIDC Core 5.4).
        if (email === undefined && config.serverMetadata().userinfo_endpoint) {
          const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
          ({ email, email_verified: emailVerified } = info);
        }
      } catch (err) {
        throw await failed(flow.user_id, providerId, err, context);
      }
      // openid-client checked iss against the discovered issuer, and that against the configured one.
      const issuer = claims.iss;
      const subject = claims.sub;
      if (typeof subject !== 'string' || subject.length < 1 || subject.length > 255)
        throw await failed(flow.user_id, providerId, new Error('subject out of bounds'), context);
      const shownEmail = typeof email === 'string' && email.length <= 254 && EMAIL.test(email) ? email : undefined;
      const now = clock.now();

      if (flow.purpose === 'link') {
        const userId = flow.user_id!;
        await db.withSystem(async (tx) => {
          const existing = await repo.findIdentity(tx, issuer, subject);
          if (existing?.user_id === userId) return;
          if (existing) throw externalError('identity_linked_elsewhere');
          if (await repo.identityOfProvider(tx, userId, providerId)) throw externalError('provider_already_linked');
          await link(tx, userId, providerId, issuer, subject, shownEmail ?? null, now, context);
        });
        return { kind: 'linked', providerName: name };
      }

      const known = await db.withSystem((tx) => repo.findIdentity(tx, issuer, subject));
      if (known) {
        const signedIn = await identity.signInExternal(known.user_id, context, (tx) =>
          repo.touchIdentity(tx, known.id, now),
        );
        return { kind: 'signed_in', signedIn, next: flow.next ?? undefined };
      }
      // A new person: only an address the upstream says it verified (a boolean true, nothing looser).
      if (emailVerified !== true || !shownEmail) throw externalError('upstream_email_unverified');
      const made = await identity.createExternalAccount(shownEmail, context, async (tx, userId) => {
        await link(tx, userId, providerId, issuer, subject, shownEmail, now, context);
      });
      if ('taken' in made) {
        // Never linked by address alone: its owner proves the account first, then links (account page).
        await db.withSystem((tx) =>
          appendAudit(
            tx,
            {
              stream: userStream(made.taken.userId),
              action: 'external.sign_in_refused',
              context,
              payload: { provider: providerId, method: 'external' },
            },
            clock,
          ),
        );
        throw externalError('account_not_linked');
      }
      return { kind: 'signed_in', signedIn: made.created, next: flow.next ?? undefined };
    },

    // System work, as identity's reads are: the providers' table is the operator's, not the person's.
    linked: (userId) =>
      db.withSystem(async (tx) =>
        (await repo.identitiesOf(tx, userId)).map((r) => ({
          id: r.id,
          providerId: r.provider_id,
          providerName: r.provider_name,
          email: r.email,
          createdAt: r.created_at,
          lastUsedAt: r.last_used_at,
        })),
      ),

    async unlink(session, id, context) {
      await deps.mfa.requireRecent(session);
      const factors = await deps.mfa.state(session.userId);
      await db.withSystem(async (tx) => {
        const all = await repo.identitiesOf(tx, session.userId);
        if (!all.some((l) => l.id === id)) throw externalError('link_not_found');
        // Without a password or a passkey, the last link is the only way in (a mailed link aside).
        if (!factors.hasPassword && factors.passkeys === 0 && all.length === 1)
          throw externalError('last_sign_in_method');
        const gone = await repo.deleteIdentity(tx, session.userId, id);
        if (!gone) throw externalError('link_not_found');
        await appendAudit(
          tx,
          {
            stream: userStream(session.userId),
            action: 'external.identity_unlinked',
            actor: `user:${session.userId}`,
            target: `external_identity:${id}`,
            context,
            payload: { provider: gone.provider_id },
          },
          clock,
        );
      });
    },

    sweep: () => db.withSystem((tx) => repo.deleteExpiredFlows(tx, new Date(clock.now().getTime() - 24 * 3600_000))),
  };

  async function link(
    tx: Tx,
    userId: string,
    providerId: string,
    issuer: string,
    subject: string,
    email: string | null,
    now: Date,
    context: RequestContext,
  ) {
    const row = await repo.insertIdentityUnlessTaken(tx, {
      user_id: userId,
      provider_id: providerId,
      issuer,
      subject,
      email,
      created_at: now,
      last_used_at: now,
    });
    // Linked at once by a flow of its own (two tabs): the database's unique keys decide.
    if (!row) throw externalError('identity_linked_elsewhere');
    await appendAudit(
      tx,
      {
        stream: userStream(userId),
        action: 'external.identity_linked',
        actor: `user:${userId}`,
        target: `external_identity:${row.id}`,
        context,
        payload: { provider: providerId },
      },
      clock,
    );
  }
}

/** What a refusal is logged with: the library's code and message, never a token. */
function describe(err: unknown): { name?: string; code?: unknown; message?: string; detail?: string } {
  if (err instanceof AppError) return { name: err.name, code: err.code };
  if (typeof err === 'object' && err !== null) {
    const { name, code, message, cause } = err as {
      name?: unknown;
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    // openid-client wraps the check that failed (its message names the claim, never a value).
    const detail = (cause as { message?: unknown } | undefined)?.message;
    return { name: String(name), code, message: String(message), ...(typeof detail === 'string' ? { detail } : {}) };
  }
  return { message: String(err) };
}

function reasonOf(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError) return `upstream_error:${err.error}`.slice(0, 100);
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code.slice(0, 100) : 'invalid_answer';
}

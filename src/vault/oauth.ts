import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { type Actor, type OrgService, orgOwnersForOperator } from '../orgs/index.js';
import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import { hashToken, looksLikeToken, randomToken, tokenMatches } from '../platform/crypto/tokens.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import { AppError, notFound } from '../platform/errors.js';
import type { Mailer } from '../platform/mail/index.js';
import type { OutboundPolicy } from '../platform/outbound-fetch.js';
import type { RequestContext } from '../platform/request-context.js';
import { describe, providerConfig, Refusal, refusalOf, sameOrigin, type TokenSet } from './oauth-client.js';
import { oauthError } from './oauth-errors.js';
import * as repo from './oauth-repository.js';
import { fingerprintOf, maskOf, openField, orgKek, sealField } from './sealing.js';

/*
 * A7 (connections half): an organization connects a provider the operator configured with the
 * authorization code grant, PKCE (S256) and state, through openid-client. The flow is kept
 * server-side, found by the hash of its state, bound to the browser and the person that started it,
 * single use and ten minutes long. Tokens are sealed under the organization's key (D1). One instance
 * refreshes a connection at a time: it claims a lease with a conditional update and never holds a
 * transaction open across the call to the provider.
 */

export const OAUTH_FLOW_TTL_MS = 10 * 60 * 1000;
/** accessToken refreshes a token that expires within this. */
const USE_MARGIN_MS = 60 * 1000;
/** The refresh job refreshes tokens that expire within this. */
export const JOB_MARGIN_MS = 10 * 60 * 1000;
const LEASE_MS = 30 * 1000;
const ACCESS = 'access_token';
const REFRESH = 'refresh_token';

type Person = Extract<Actor, { kind: 'user' }>;

export interface OauthConnectionsDeps {
  db: Tenancy;
  keyring: Keyring;
  clock: Clock;
  orgs: OrgService;
  mailer: Mailer;
  logger: Logger;
  baseUrl: string;
  dev: boolean;
  /** The outbound fetch toward providers (allowed hosts: each provider's endpoints); tests: their CA. */
  outbound: Omit<OutboundPolicy, 'allowedHosts' | 'dev'>;
  /** Where the refresh-failed mail is sent from (after the request; drained when the app closes). */
  background?: Background;
  /** How long an instance that did not win a refresh waits for the one that did (default 10 s). */
  waitMs?: number;
  pollMs?: number;
}

export interface OauthStarted {
  /** Where the browser goes now: the provider's authorization endpoint. */
  url: string;
  /** The value of the browser-binding cookie (the one it already had, or a new one). */
  browser: string;
}

export interface OauthDisconnected {
  /** Whether the provider confirmed the revocation (RFC 7009); false when it has no endpoint or failed. */
  revoked: boolean;
  detail: string;
}

export interface OauthConnections {
  /** The one redirect URI of the deployment, to register at every provider. */
  redirectUri: string;
  start(
    actor: Person,
    orgId: string,
    providerId: string,
    label: string,
    browser: string | undefined,
  ): Promise<OauthStarted>;
  /** The provider's answer (the callback's query): the connection made, or a refusal. */
  callback(
    query: string,
    browser: string | undefined,
    user: Person | undefined,
    context?: RequestContext,
  ): Promise<{ orgId: string; connectionId: string }>;
  /** A usable access token (refreshed first when it expires within a minute). In memory only. */
  accessToken(orgId: string, connectionId: string): Promise<string>;
  /** The job: refreshes every token that expires within ten minutes. */
  refreshDue(): Promise<{ refreshed: number; failed: number }>;
  /** Revokes at the provider (when it can) and deletes, with the permission of the actor. */
  disconnectAs(actor: Actor, orgId: string, connectionId: string, context?: RequestContext): Promise<OauthDisconnected>;
  /** The same without a permission check, for the vault's delete (which checked it). */
  disconnect(orgId: string, connectionId: string, by?: string, context?: RequestContext): Promise<OauthDisconnected>;
  /**
   * The OAuth providers an organization may connect, with the site the "Connect" form leads to: the
   * connections page passes the targets to allowFormTargets (browsers check form-action on redirects).
   */
  providers(): Promise<Array<{ id: string; name: string; target: string }>>;
  /** An authorization URL built as start builds it, for the trust check (no flow is kept). */
  probeAuthorizationUrl(providerId: string): Promise<URL>;
  /** Deletes unspent flows long expired. */
  sweep(): Promise<void>;
}

const pkceContext = (stateHash: string) => ({ purpose: 'vault oauth pkce', flow: stateHash });
const expired = () => oauthError('oauth_flow_expired');
// Missing, another tenant's, or not OAuth: the same answer as any id that is not there (O2).
const gone = () => notFound('The connection');

export function createOauthConnections(deps: OauthConnectionsDeps): OauthConnections {
  const { db, clock } = deps;
  const redirectUri = `${deps.baseUrl.replace(/\/$/, '')}/vault/oauth/callback`;
  const waitMs = deps.waitMs ?? 10_000;
  const pollMs = deps.pollMs ?? 200;
  const now = () => clock.now();

  const configOf = (p: repo.OauthProviderRow, issuer?: string) => providerConfig(p, deps, issuer);

  async function provider(id: string): Promise<repo.OauthProviderRow> {
    const row = await db.withSystem((tx) => repo.oauthProvider(tx, id));
    if (!row) throw oauthError('oauth_provider_not_found');
    return row;
  }

  async function authorizationUrl(p: repo.OauthProviderRow, state: string, verifier: string): Promise<URL> {
    return oidc.buildAuthorizationUrl(configOf(p), {
      redirect_uri: redirectUri,
      ...(p.oauth_scopes ? { scope: p.oauth_scopes } : {}),
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
  }

  async function audit(tx: Tx, orgId: string, action: Parameters<typeof appendAudit>[1]['action'], e: AuditBits) {
    await appendAudit(tx, { stream: orgStream(orgId), action, ...e }, clock);
  }

  // ---- tokens ----

  interface Loaded {
    row: repo.ConnectionRow;
    access?: string;
    refresh?: string;
  }

  async function load(orgId: string, id: string, withRefresh: boolean): Promise<Loaded> {
    return db.withTenant(orgId, async (tx) => {
      const row = await repo.oauthConnection(tx, orgId, id);
      if (!row) throw gone();
      const sealed = await repo.secretsOf(tx, id);
      const kek = await orgKek(tx, deps, orgId, { create: false });
      if (!kek) throw gone();
      try {
        const ctx = (field: string) => ({ org: orgId, connection: id, field, provider: row.provider_id });
        return {
          row,
          access: sealed[ACCESS] ? openField(kek, sealed[ACCESS], ctx(ACCESS)) : undefined,
          refresh: withRefresh && sealed[REFRESH] ? openField(kek, sealed[REFRESH], ctx(REFRESH)) : undefined,
        };
      } finally {
        kek.fill(0);
      }
    });
  }

  const fresh = (row: repo.ConnectionRow, marginMs: number) =>
    row.token_expires_at === null || row.token_expires_at.getTime() - now().getTime() > marginMs;

  /** Stores tokens (a rotated refresh token replaces the old one) in the caller's tenant transaction. */
  async function storeTokens(tx: Tx, orgId: string, id: string, providerId: string, tokens: TokenSet) {
    const kek = (await orgKek(tx, deps, orgId, { create: true }))!;
    try {
      const ctx = (field: string) => ({ org: orgId, connection: id, field, provider: providerId });
      await repo.putSecret(tx, {
        connection_id: id,
        org_id: orgId,
        field: ACCESS,
        sealed: sealField(kek, tokens.access_token, ctx(ACCESS)),
      });
      if (tokens.refresh_token)
        await repo.putSecret(tx, {
          connection_id: id,
          org_id: orgId,
          field: REFRESH,
          sealed: sealField(kek, tokens.refresh_token, ctx(REFRESH)),
        });
      return { mask: maskOf(tokens.access_token), fingerprint: fingerprintOf(kek, tokens.access_token) };
    } finally {
      kek.fill(0);
    }
  }

  const expiresAt = (tokens: TokenSet) =>
    typeof tokens.expires_in === 'number' && tokens.expires_in > 0
      ? new Date(now().getTime() + tokens.expires_in * 1000)
      : null;

  /** Refreshes a connection whose lease this instance holds; the new access token. */
  async function refresh(orgId: string, loaded: Loaded): Promise<string> {
    const { row } = loaded;
    const p = await db.withSystem((tx) => repo.oauthProvider(tx, row.provider_id));
    let tokens: TokenSet;
    try {
      if (!p) throw new Refusal('the provider is no longer configured');
      if (!loaded.refresh) throw new Refusal('the provider gave no refresh token');
      tokens = await oidc.refreshTokenGrant(configOf(p), loaded.refresh);
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) {
        await refused(orgId, row, refusal);
        throw oauthError('oauth_refresh_failed');
      }
      deps.logger.warn(
        { connection: row.id, provider: row.provider_id, refusal: describe(err) },
        'oauth refresh failed',
      );
      await db.withTenant(orgId, (tx) => repo.updateConnection(tx, row.id, { refresh_lease_until: null }));
      if (err instanceof AppError) throw err;
      throw oauthError('oauth_provider_unreachable');
    }
    await db.withTenant(orgId, async (tx) => {
      const still = await repo.oauthConnection(tx, orgId, row.id);
      if (!still) throw gone(); // deleted meanwhile: nothing to store
      const shown = await storeTokens(tx, orgId, row.id, row.provider_id, tokens);
      const at = now();
      await repo.updateConnection(tx, row.id, {
        ...shown,
        status: 'valid',
        status_detail: null,
        checked_at: at,
        token_expires_at: expiresAt(tokens),
        refresh_lease_until: null,
        updated_at: at,
      });
      await audit(tx, orgId, 'connection.oauth_refreshed', {
        actor: 'system:vault.oauth',
        target: `connection:${row.id}`,
        payload: { provider: row.provider_id, rotated: Boolean(tokens.refresh_token), mask: shown.mask },
      });
    });
    return tokens.access_token;
  }

  async function refused(orgId: string, row: repo.ConnectionRow, detail: string) {
    deps.logger.warn({ connection: row.id, provider: row.provider_id, detail }, 'oauth refresh refused');
    const first = await db.withTenant(orgId, async (tx) => {
      const changed = await repo.markRefreshFailed(tx, row.id, detail.slice(0, 300), now());
      if (!changed) return false;
      await audit(tx, orgId, 'connection.oauth_refresh_failed', {
        actor: 'system:vault.oauth',
        target: `connection:${row.id}`,
        payload: { provider: row.provider_id, detail: detail.slice(0, 300) },
      });
      return true;
    });
    if (!first) return;
    if (deps.background) deps.background.run(() => mailOwners(orgId, row));
    else await mailOwners(orgId, row);
  }

  async function mailOwners(orgId: string, row: repo.ConnectionRow) {
    try {
      const org = await orgOwnersForOperator(db, orgId);
      for (const to of org?.owners ?? [])
        await deps.mailer.send({
          to,
          subject: `A connection of ${org!.name} stopped working: ${row.label}`,
          text:
            `The provider refused to renew the OAuth connection "${row.label}" of your organization ` +
            `"${org!.name}", so requests through it fail. Connect it again: ` +
            `${deps.baseUrl.replace(/\/$/, '')}/orgs/${orgId}/connections\n`,
        });
    } catch (err) {
      deps.logger.error({ err: describe(err), connection: row.id }, 'the refresh-failed mail could not be sent');
    }
  }

  /** The token, refreshed when it expires within `marginMs`; `wait`: for another instance's refresh. */
  async function ensureFresh(orgId: string, id: string, marginMs: number, wait: boolean): Promise<string | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const loaded = await load(orgId, id, true);
      if (loaded.row.status === 'refresh_failed') throw oauthError('oauth_refresh_failed');
      if (fresh(loaded.row, marginMs) && loaded.access) return loaded.access;
      const at = now();
      const won = await db.withTenant(orgId, (tx) => repo.claimLease(tx, id, at, new Date(at.getTime() + LEASE_MS)));
      if (won) {
        // The stale read above may predate a refresh that finished before the claim; read again under the lease.
        const current = await load(orgId, id, true);
        const failed = current.row.status === 'refresh_failed';
        if (!failed && !(fresh(current.row, marginMs) && current.access)) return refresh(orgId, current);
        await db.withTenant(orgId, (tx) => repo.updateConnection(tx, id, { refresh_lease_until: null }));
        if (failed) throw oauthError('oauth_refresh_failed');
        return current.access;
      }
      if (!wait) return undefined;
      if (Date.now() >= deadline) throw oauthError('oauth_refresh_busy');
      await sleep(pollMs);
    }
  }

  async function revokeQuietly(p: repo.OauthProviderRow | undefined, tokens: (string | undefined)[], id?: string) {
    if (!p?.oauth_revocation_endpoint) return { revoked: false, detail: 'the provider has no revocation endpoint' };
    try {
      const config = configOf(p);
      for (const token of tokens) if (token) await oidc.tokenRevocation(config, token);
      return { revoked: true, detail: 'revoked at the provider' };
    } catch (err) {
      deps.logger.warn({ connection: id, provider: p.id, refusal: describe(err) }, 'oauth revocation failed');
      return { revoked: false, detail: 'the provider did not confirm the revocation' };
    }
  }

  async function disconnect(orgId: string, id: string, by?: string, context?: RequestContext) {
    const loaded = await load(orgId, id, true);
    const p = await db.withSystem((tx) => repo.oauthProvider(tx, loaded.row.provider_id));
    // RFC 7009 2.1: revoking the refresh token may revoke the grant; the access token is sent as well.
    const result = await revokeQuietly(p, [loaded.refresh, loaded.access], id);
    await db.withTenant(orgId, async (tx) => {
      const deleted = await repo.deleteConnection(tx, orgId, id);
      if (!deleted) throw gone();
      await audit(tx, orgId, 'connection.deleted', {
        actor: by ?? null,
        target: `connection:${id}`,
        context,
        payload: { provider: deleted.provider_id, label: deleted.label, kind: 'oauth', revoked: result.revoked },
      });
    });
    return result;
  }

  return {
    redirectUri,

    async start(actor, orgId, providerId, label, presentedBrowser) {
      await deps.orgs.withPermission(actor, orgId, 'connections.manage', async () => undefined);
      const name = label.trim();
      if (name.length < 1 || name.length > 80) throw oauthError('oauth_label_invalid');
      const p = await provider(providerId);
      const state = randomToken();
      const stateHash = hashToken(state);
      const browser = presentedBrowser && looksLikeToken(presentedBrowser) ? presentedBrowser : randomToken();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = await authorizationUrl(p, state, verifier);
      const at = now();
      await db.withSystem((tx) =>
        repo.insertFlow(tx, {
          state_hash: stateHash,
          org_id: orgId,
          provider_id: p.id,
          user_id: actor.userId,
          browser_hash: hashToken(browser),
          label: name,
          code_verifier_sealed: seal(deps.keyring, verifier, pkceContext(stateHash)),
          created_at: at,
          expires_at: new Date(at.getTime() + OAUTH_FLOW_TTL_MS),
        }),
      );
      return { url: url.href, browser };
    },

    async callback(query, browser, user, context) {
      const params = new URLSearchParams(query);
      const state = params.get('state') ?? '';
      if (!looksLikeToken(state) || !browser || !user) throw expired();
      const stateHash = hashToken(state);
      // Single use: spent before the code is exchanged, so a replayed answer finds it used.
      const flow = await db.withSystem(async (tx) => {
        const row = await repo.lockFlow(tx, stateHash);
        if (!row || row.used_at || row.expires_at.getTime() <= now().getTime()) return undefined;
        // Another browser or person presenting this state learns nothing and does not spend it.
        if (!tokenMatches(browser, row.browser_hash) || row.user_id !== user.userId) return undefined;
        await repo.spendFlow(tx, stateHash, now());
        return row;
      });
      if (!flow) throw expired();
      const error = params.get('error');
      if (error !== null) {
        deps.logger.info({ provider: flow.provider_id, error: error.slice(0, 100) }, 'oauth authorization refused');
        throw oauthError('oauth_denied');
      }
      const p = await provider(flow.provider_id);
      // RFC 9207: an iss in the answer must be the site of the configured authorization endpoint.
      const iss = params.get('iss') ?? undefined;
      if (iss !== undefined && !sameOrigin(iss, p.oauth_authorization_endpoint!))
        throw oauthError('oauth_exchange_failed');
      let tokens: TokenSet;
      try {
        const verifier = open(deps.keyring, flow.code_verifier_sealed, pkceContext(stateHash)).toString('utf8');
        tokens = await oidc.authorizationCodeGrant(configOf(p, iss), new URL(`${redirectUri}?${query}`), {
          pkceCodeVerifier: verifier,
          expectedState: state,
          idTokenExpected: false,
        });
      } catch (err) {
        deps.logger.warn({ provider: p.id, refusal: describe(err) }, 'oauth code exchange failed');
        throw oauthError('oauth_exchange_failed');
      }
      const made = await deps.orgs
        .withPermission(user, flow.org_id, 'connections.manage', async (tx) => {
          const at = now();
          const inserted = await repo.insertConnection(tx, {
            org_id: flow.org_id,
            provider_id: p.id,
            label: flow.label,
            kind: 'oauth',
            status: 'valid',
            checked_at: at,
            mask: '••••••••',
            fingerprint: '00000000',
            token_expires_at: expiresAt(tokens),
            created_by: user.userId,
            created_at: at,
            updated_at: at,
          });
          if (!inserted) throw oauthError('oauth_label_taken');
          const shown = await storeTokens(tx, flow.org_id, inserted.id, p.id, tokens);
          await repo.updateConnection(tx, inserted.id, shown);
          await audit(tx, flow.org_id, 'connection.created', {
            actor: `user:${user.userId}`,
            target: `connection:${inserted.id}`,
            context,
            payload: {
              provider: p.id,
              label: flow.label,
              kind: 'oauth',
              mask: shown.mask,
              scope: tokens.scope ?? null,
            },
          });
          return inserted.id;
        })
        .catch(async (err) => {
          // Nothing was kept: the grant is given back rather than left live at the provider.
          await revokeQuietly(p, [tokens.refresh_token, tokens.access_token]);
          throw err;
        });
      return { orgId: flow.org_id, connectionId: made };
    },

    accessToken: async (orgId, id) => (await ensureFresh(orgId, id, USE_MARGIN_MS, true))!,

    async refreshDue() {
      let refreshed = 0;
      let failed = 0;
      const orgIds = await db.withSystem((tx) => repo.orgsWithOauth(tx));
      const before = new Date(now().getTime() + JOB_MARGIN_MS);
      for (const orgId of orgIds) {
        const due = await db.withTenant(orgId, (tx) => repo.dueConnections(tx, orgId, before));
        for (const { id } of due) {
          try {
            if (await ensureFresh(orgId, id, JOB_MARGIN_MS, false)) refreshed++;
          } catch (err) {
            failed++;
            if (!(err instanceof AppError))
              deps.logger.error({ err: describe(err), connection: id }, 'oauth refresh job');
          }
        }
      }
      return { refreshed, failed };
    },

    async disconnectAs(actor, orgId, id, context) {
      await deps.orgs.withPermission(actor, orgId, 'connections.manage', async (tx) => {
        if (!(await repo.oauthConnection(tx, orgId, id))) throw gone();
      });
      const by = actor.kind === 'user' ? `user:${actor.userId}` : `apikey:${actor.keyId}`;
      return disconnect(orgId, id, by, context);
    },
    disconnect,

    providers: async () =>
      (await db.withSystem((tx) => repo.oauthProviders(tx))).map((p) => ({
        id: p.id,
        name: p.name,
        target: new URL(p.oauth_authorization_endpoint!).origin,
      })),

    async probeAuthorizationUrl(providerId) {
      return authorizationUrl(await provider(providerId), randomToken(), oidc.randomPKCECodeVerifier());
    },

    sweep: () => db.withSystem((tx) => repo.deleteExpiredFlows(tx, new Date(now().getTime() - 24 * 3600_000))),
  };
}

type AuditBits = Omit<Parameters<typeof appendAudit>[1], 'stream' | 'action'>;

/** The vault's hooks for kind 'oauth' (useCredential and delete call these). */
export interface OauthHooks {
  oauthAccessToken(orgId: string, connectionId: string): Promise<string>;
  onOauthDelete(orgId: string, connectionId: string, by?: string, context?: RequestContext): Promise<OauthDisconnected>;
}

export const oauthHooks = (service: OauthConnections): OauthHooks => ({
  oauthAccessToken: (orgId, connectionId) => service.accessToken(orgId, connectionId),
  onOauthDelete: (orgId, connectionId, by, context) => service.disconnect(orgId, connectionId, by, context),
});

import type { Logger } from 'pino';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { appendAudit, userStream } from '../platform/audit/events.js';
import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import type { Mailer } from '../platform/mail/index.js';
import { type EndedSession, SESSION_COOKIE, type SessionService } from '../sessions/index.js';
import type { Deliveries } from './deliveries.js';
import * as repo from './repository.js';

/** Tries of one back-channel logout token before it is recorded as failed. */
export const BACKCHANNEL_ATTEMPTS = 3;

const ARTIFACT_MODELS = ['AuthorizationCode', 'RefreshToken', 'AccessToken', 'Grant'] as const;

export interface TokenEvents {
  /** oidc-provider's own events this feature acts on. */
  listen(provider: Provider): void;
  /**
   * RFC 9700 §4.14.2: a spent refresh token (or code) came back. Its whole grant is revoked, the
   * Rampart session it came from ends (which tells every product holding its tokens), the event is
   * audited and the person is told.
   */
  reuseDetected(grantId: string): Promise<void>;
  /** S3: Rampart sessions ended; the grants they gave die with them and products hear of it. */
  sessionsEnded(ended: EndedSession[]): Promise<void>;
  /**
   * O3: a member's role changed or they left (or the organization went). Products holding tokens
   * for that membership get a back-channel logout; the grants of someone no longer a member are
   * revoked, while a changed role shows in the next token of a grant that stays.
   */
  membershipChanged(orgId: string, userId: string | undefined, stillMember: boolean): Promise<void>;
}

export function createTokenEvents(deps: {
  db: Tenancy;
  clock: Clock;
  sessions: SessionService;
  mailer: Mailer;
  background: Background;
  logger: Logger;
  baseUrl: string;
  provider: () => Provider;
  deliveries: Deliveries;
  /** The wait before the second try is four times this; the one before the third sixteen times. */
  retryBaseMs: number;
}): TokenEvents {
  const { db } = deps;

  async function revokeGrant(grantId: string): Promise<void> {
    await db.withSystem(async (tx) => {
      for (const model of ARTIFACT_MODELS) await repo.deleteArtifactsOfGrant(tx, model, grantId);
      await repo.deleteArtifact(tx, 'Grant', grantId);
    });
  }

  /**
   * OpenID Connect Back-Channel Logout 1.0: a signed logout token to the product, tried three times.
   * How each delivery ended is recorded for the operator (rampart clients list, the operator API).
   */
  function backchannelLogout(clientId: string, sub: string, sids: string[]): void {
    deps.background.run(async () => {
      const client = await deps.provider().Client.find(clientId);
      if (!client?.backchannelLogoutUri) return;
      for (const sid of sids.length > 0 ? sids : [undefined]) {
        let lastError: string | null = null;
        let attempts = 0;
        while (attempts < BACKCHANNEL_ATTEMPTS) {
          attempts++;
          try {
            await (
              client as unknown as { backchannelLogout(sub: string, sid?: string): Promise<void> }
            ).backchannelLogout(sub, sid);
            lastError = null;
            break;
          } catch (err) {
            lastError = err instanceof Error ? err.message : String(err);
            if (attempts < BACKCHANNEL_ATTEMPTS)
              await new Promise((r) => setTimeout(r, deps.retryBaseMs * 4 ** attempts));
          }
        }
        const delivered = lastError === null;
        if (delivered) deps.logger.info({ client: clientId, attempts }, 'back-channel logout delivered');
        else deps.logger.warn({ client: clientId, attempts, error: lastError }, 'back-channel logout failed');
        await deps.deliveries
          .record({ clientId, delivered, attempts, lastError })
          .catch((err) => deps.logger.error({ err, client: clientId }, 'recording a back-channel delivery failed'));
      }
    });
  }

  /** Tells each grant's product (back-channel logout) and, when `revoke`, revokes the grant first. */
  async function endGrants(grants: repo.GrantWithLogoutUri[], revoke: boolean): Promise<void> {
    for (const g of grants) {
      const sids = await db.withSystem((tx) => repo.sidsOfGrant(tx, g.grant_id));
      if (revoke) await revokeGrant(g.grant_id);
      if (g.backchannel_logout_uri) backchannelLogout(g.client_id, g.user_id, sids);
    }
  }

  async function sessionsEnded(ended: EndedSession[]): Promise<void> {
    const sessionIds = ended.map((e) => e.sessionId);
    await endGrants(await db.withSystem((tx) => repo.grantsOfSessions(tx, sessionIds)), true);
  }

  async function membershipChanged(orgId: string, userId: string | undefined, stillMember: boolean) {
    await endGrants(await db.withSystem((tx) => repo.grantsForOrg(tx, orgId, userId)), !stillMember);
  }

  async function reuseDetected(grantId: string): Promise<void> {
    const grant = await db.withSystem((tx) => repo.findGrant(tx, grantId));
    await revokeGrant(grantId);
    if (!grant) return;
    const to = (await deps.sessions.byId(grant.session_id))?.user.email;
    await deps.sessions.write(async (tx, ops) => {
      await ops.revoke({ userId: grant.user_id, sessionId: grant.session_id }, 'refresh_token_reused');
      await appendAudit(
        tx,
        {
          stream: userStream(grant.user_id),
          action: 'oidc.refresh_token_reused',
          actor: `client:${grant.client_id}`,
          target: `session:${grant.session_id}`,
          payload: { client: grant.client_id, grant: grantId },
        },
        deps.clock,
      );
    });
    if (to) {
      deps.background.run(() =>
        deps.mailer.send({
          to,
          subject: 'We signed you out of an app to protect your account',
          text:
            `A sign-in token of the app "${grant.client_id}" was used twice. That happens when someone copied it, ` +
            `so we revoked it and signed out the session it came from.\n\nIf you did not expect this, change your ` +
            `password: ${new URL('/account/security', deps.baseUrl)}\n\n— Rampart at ${new URL(deps.baseUrl).host}`,
        }),
      );
    }
  }

  async function signOut(cookie: string): Promise<void> {
    const auth = await deps.sessions.authenticate(cookie);
    if (!auth) return;
    await deps.sessions.write((_tx, ops) =>
      ops.revoke({ userId: auth.user.id, sessionId: auth.session.id }, 'signed_out_from_product'),
    );
  }

  return {
    listen(provider) {
      // In the token endpoint the provider revokes a grant only when a spent code or refresh token comes back.
      provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
        if (ctx.oidc.route !== 'token') return;
        reuseDetected(grantId).catch((err) => deps.logger.error({ err }, 'reuse handling failed'));
      });
      // RP-initiated logout, confirmed with "Yes, sign me out": the person leaves Rampart too.
      provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
        const body = ctx.oidc.body as Record<string, unknown> | undefined;
        const cookie = ctx.cookies.get(SESSION_COOKIE, { signed: false });
        if (body?.logout !== 'yes' || !cookie) return;
        signOut(cookie).catch((err) => deps.logger.error({ err }, 'sign-out after product logout failed'));
      });
      provider.on('server_error', (_ctx: KoaContextWithOIDC, err: Error) =>
        deps.logger.error({ err }, 'OpenID provider error'),
      );
    },
    reuseDetected,
    sessionsEnded,
    membershipChanged,
  };
}

import type { TrustCheck } from '../feature.js';
import type { Tenancy } from '../platform/db/database.js';
import { outboundProblem } from '../platform/outbound.js';
import type { OauthConnections } from './oauth.js';
import { oauthProviders } from './oauth-repository.js';

/**
 * A7 and T3: every OAuth provider is reached over https (http to this machine in dev mode only), and
 * the authorization request this instance builds for it carries a PKCE S256 challenge and a state.
 */
export function oauthTrustChecks(deps: { db: Tenancy; dev: boolean; service: OauthConnections }): TrustCheck[] {
  return [
    {
      control: 'A7',
      id: 'oauth-connections-pkce',
      title: 'OAuth connections use the authorization code grant with PKCE (S256) and state, over HTTPS',
      async run() {
        const providers = await deps.db.withSystem((tx) => oauthProviders(tx));
        if (providers.length === 0) return { status: 'not_configured', detail: 'no OAuth provider is configured' };
        const bad: string[] = [];
        for (const p of providers) {
          const endpoints = [p.oauth_authorization_endpoint, p.oauth_token_endpoint, p.oauth_revocation_endpoint];
          for (const url of endpoints) {
            const problem = url ? outboundProblem(url, { dev: deps.dev }) : undefined;
            if (problem) bad.push(`${p.id}: ${url} ${problem}`);
          }
          if (bad.length > 0) continue;
          const url = await deps.service.probeAuthorizationUrl(p.id);
          const q = url.searchParams;
          if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? ''))
            bad.push(`${p.id}: the authorization request has no S256 code challenge`);
          if (q.get('response_type') !== 'code' || (q.get('state') ?? '').length < 43)
            bad.push(`${p.id}: the authorization request is not a code request with a state`);
          if (q.get('redirect_uri') !== deps.service.redirectUri)
            bad.push(`${p.id}: the redirect URI is not ${deps.service.redirectUri}`);
        }
        if (bad.length > 0) return { status: 'failing', detail: bad.join('; ') };
        return {
          status: 'passing',
          detail: `${providers.length} OAuth provider(s): https endpoints, code + PKCE S256 + state`,
        };
      },
    },
  ];
}

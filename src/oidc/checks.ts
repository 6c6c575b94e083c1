import type { TrustCheck, TrustVerdict } from '../feature.js';
import { outboundProblem } from '../platform/outbound.js';
import type { ClientRegistry } from './clients.js';
import { OIDC_PREFIX } from './provider.js';

const ASYMMETRIC = new Set(['RSA', 'EC', 'OKP']);

/** A10: what a published JWKS document says about the token signing keys. */
export function jwksVerdict(status: number, body: string): TrustVerdict {
  if (status !== 200) return { status: 'failing', detail: `the JWKS answered ${status}` };
  let keys: unknown;
  try {
    keys = (JSON.parse(body) as { keys?: unknown }).keys;
  } catch {
    return { status: 'failing', detail: 'the JWKS is not JSON' };
  }
  if (!Array.isArray(keys) || keys.length === 0) return { status: 'failing', detail: 'the JWKS lists no key' };
  for (const k of keys as Record<string, unknown>[]) {
    if (!ASYMMETRIC.has(String(k.kty)))
      return { status: 'failing', detail: `a published key is of type ${String(k.kty)}` };
    if ('d' in k || 'k' in k || 'p' in k)
      return { status: 'failing', detail: `key ${String(k.kid)} carries private material` };
    if (typeof k.kid !== 'string') return { status: 'failing', detail: 'a published key has no key id' };
  }
  const kinds = [...new Set((keys as { kty: string; alg?: string }[]).map((k) => k.alg ?? k.kty))].join(', ');
  return { status: 'passing', detail: `${keys.length} public key(s) published (${kinds}), none private or symmetric` };
}

export function oidcChecks(jwksPath = `${OIDC_PREFIX}/jwks`): TrustCheck[] {
  return [
    {
      control: 'A10',
      id: 'jwks-published',
      title: 'The token signing keys are published as a JWKS of public, asymmetric keys',
      async run(probe) {
        const res = await probe.request(jwksPath);
        return jwksVerdict(res.status, res.body);
      },
    },
  ];
}

/** T3: back-channel logout tokens go to each product over https (http to this machine in dev mode only). */
export function backchannelCheck(clients: Pick<ClientRegistry, 'list'>, dev: boolean): TrustCheck {
  return {
    control: 'T3',
    id: 'backchannel-logout-https',
    title: 'Back-channel logout notices go to products over HTTPS only',
    async run() {
      const targets = (await clients.list()).flatMap((c) =>
        c.backchannelLogoutUri ? [{ id: c.clientId, uri: c.backchannelLogoutUri }] : [],
      );
      const bad = targets.flatMap((t) => {
        const problem = outboundProblem(t.uri, { dev });
        return problem ? [`${t.id}: ${t.uri} ${problem}`] : [];
      });
      if (bad.length > 0) return { status: 'failing', detail: bad.join('; ') };
      return {
        status: 'passing',
        detail:
          targets.length === 0 ? 'no product takes back-channel logout' : `${targets.length} product(s), all https`,
      };
    },
  };
}

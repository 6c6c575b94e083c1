import type { TrustCheck } from '../feature.js';
import { outboundProblem } from '../platform/outbound.js';
import type { UpstreamRegistry } from './providers.js';

/** T3: every registered upstream provider is reached over https (http to this machine in dev mode only). */
export function upstreamChecks(upstreams: UpstreamRegistry, dev: boolean): TrustCheck[] {
  return [
    {
      control: 'T3',
      id: 'upstream-issuers-https',
      title: 'Upstream OpenID providers are reached over HTTPS only',
      async run() {
        const all = await upstreams.list();
        const bad = all.flatMap((u) => {
          const problem = outboundProblem(u.issuer, { dev });
          return problem ? [`${u.id} (${u.issuer}) ${problem}`] : [];
        });
        if (bad.length > 0) return { status: 'failing', detail: bad.join('; ') };
        return {
          status: 'passing',
          detail: all.length === 0 ? 'no upstream provider is registered' : `${all.length} provider(s), all https`,
        };
      },
    },
  ];
}

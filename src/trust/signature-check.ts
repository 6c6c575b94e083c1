import type { TrustCheck, TrustProbe } from '../feature.js';
import type { SignedReport } from './service.js';
import { verifySignedReport } from './signing.js';

/** X8: the report this instance serves verifies with the key it publishes at /trust/key. */
export function signatureCheck(signed: () => Promise<SignedReport>, keyPath = '/trust/key'): TrustCheck {
  return {
    control: 'X8',
    id: 'report-signature',
    title: 'The trust report is signed, and the signature verifies with the key published at /trust/key',
    async run(probe: TrustProbe) {
      const res = await probe.request(keyPath);
      if (res.status !== 200) return { status: 'failing', detail: `GET ${keyPath} answered ${res.status}` };
      let keys: unknown;
      try {
        keys = JSON.parse(res.body);
      } catch {
        return { status: 'failing', detail: `GET ${keyPath} is not JSON` };
      }
      // As a client gets it: through JSON text, not the objects in memory.
      const document = JSON.parse(JSON.stringify(await signed()));
      const outcome = verifySignedReport(document, keys);
      if (!outcome.ok) return { status: 'failing', detail: outcome.reason };
      return {
        status: 'passing',
        detail: `the report's Ed25519 signature verifies with the published key ${outcome.kid}`,
      };
    },
  };
}

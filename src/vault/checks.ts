import { randomBytes } from 'node:crypto';
import type { TrustCheck } from '../feature.js';
import { DecryptError, keyVersionOf, open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tenancy } from '../platform/db/database.js';
import { outboundProblem } from '../platform/outbound.js';
import { hostProblem, type ProviderRegistry } from './providers.js';
import { openField, orgKeyContext, sealField } from './sealing.js';

const SAMPLE_ORGS = 20;
const SAMPLE_ROWS = 50;

/** A live two-layer round trip, and a value moved to another connection must fail to open. */
function roundTrip(keyring: Keyring): string | undefined {
  const org = '00000000-0000-4000-8000-000000000001';
  const kek = randomBytes(32);
  try {
    const wrapped = seal(keyring, kek, orgKeyContext(org));
    const kek2 = open(keyring, wrapped, orgKeyContext(org));
    const ctx = { org, connection: 'probe-a', field: 'api_key', provider: 'probe' };
    const sealed = sealField(kek2, 'trust probe secret', ctx);
    if (openField(kek2, sealed, ctx) !== 'trust probe secret') return 'a live seal and open did not round-trip';
    try {
      openField(kek2, sealed, { ...ctx, connection: 'probe-b' });
      return 'a secret moved to another connection opened: the associated data is not checked';
    } catch (err) {
      if (!(err instanceof DecryptError)) throw err;
    }
    kek2.fill(0);
    return undefined;
  } finally {
    kek.fill(0);
  }
}

export function vaultTrustChecks(deps: {
  db: Tenancy;
  keyring: Keyring;
  dev: boolean;
  providers: ProviderRegistry;
}): readonly TrustCheck[] {
  return [
    {
      control: 'D1',
      id: 'vault-sealed-at-rest',
      title:
        "Customers' credentials are stored only as envelopes under their organization's key, bound to org, " +
        'connection, field and provider',
      async run() {
        const broken = roundTrip(deps.keyring);
        if (broken) return { status: 'failing', detail: broken };
        const orgIds = await deps.db.withSystem(async (tx) =>
          (
            await tx
              .selectFrom('vault_connections')
              .select('org_id')
              .distinct()
              .orderBy('org_id')
              .limit(SAMPLE_ORGS)
              .execute()
          ).map((r) => r.org_id),
        );
        if (orgIds.length === 0)
          return {
            status: 'not_configured',
            detail: 'No organization has a connection yet; a live seal, open and moved-value refusal passed.',
          };
        const known = new Set(deps.keyring.versions());
        let secrets = 0;
        for (const orgId of orgIds) {
          const problem = await deps.db.withTenant(orgId, async (tx) => {
            const key = await tx
              .selectFrom('org_keys')
              .select(['kek_sealed', 'destroyed_at'])
              .where('org_id', '=', orgId)
              .executeTakeFirst();
            if (key?.kek_sealed) {
              try {
                if (!known.has(keyVersionOf(key.kek_sealed)))
                  return 'an organization key is under an unknown master key';
              } catch {
                return 'an organization key is not a sealed envelope';
              }
            }
            const rows = await tx
              .selectFrom('vault_secrets')
              .select('sealed')
              .where('org_id', '=', orgId)
              .limit(SAMPLE_ROWS)
              .execute();
            for (const r of rows) {
              try {
                keyVersionOf(r.sealed);
              } catch {
                return 'a stored credential is not a sealed envelope';
              }
              secrets++;
            }
            if (rows.length && !key) return 'credentials are stored without an organization key';
            return undefined;
          });
          if (problem) return { status: 'failing', detail: problem };
        }
        return {
          status: 'passing',
          detail:
            `${secrets} stored credential(s) of ${orgIds.length} organization(s) are sealed envelopes; ` +
            'their keys are under known master key versions; a live seal, open and moved-value refusal passed.',
        };
      },
    },
    {
      control: 'T3',
      id: 'connection-providers-https',
      title: "Connection providers' hosts and OAuth endpoints are HTTPS with public addresses",
      async run() {
        const providers = await deps.providers.list();
        if (providers.length === 0)
          return { status: 'not_configured', detail: 'No connection provider is configured.' };
        for (const p of providers) {
          for (const host of p.allowedHosts) {
            const why = hostProblem(host, deps.dev) ?? outboundProblem(`https://${host}/`, { dev: deps.dev });
            if (why) return { status: 'failing', detail: `provider ${p.id}: host ${host} ${why}` };
          }
          for (const url of [p.oauth?.authorizationEndpoint, p.oauth?.tokenEndpoint, p.oauth?.revocationEndpoint]) {
            if (!url) continue;
            const why = outboundProblem(url, { dev: deps.dev });
            if (why) return { status: 'failing', detail: `provider ${p.id}: ${url} ${why}` };
          }
        }
        return {
          status: 'passing',
          detail:
            `${providers.length} provider(s): every host is an exact public name sent HTTPS, ` +
            'every OAuth endpoint https.',
        };
      },
    },
  ];
}

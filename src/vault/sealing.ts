import { createHmac, hkdfSync } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import { draw, systemRandom, type RandomSource } from '../platform/crypto/random.js';
import type { Tx } from '../platform/db/database.js';

/*
 * D1: two layers. Each organization has a key-encryption key (KEK) sealed by the master keyring and
 * bound to the organization; each secret field is sealed under that KEK and bound to its org,
 * connection, field and provider. Rotating the master key re-wraps only the KEKs; clearing a KEK
 * makes every secret of its organization unreadable.
 */

const KEK_BYTES = 32;

/** Thrown when the organization's key was destroyed (crypto-shredded): its secrets are gone for good. */
export class OrgKeyDestroyedError extends Error {
  override readonly name = 'OrgKeyDestroyedError';
}

export const orgKeyContext = (orgId: string) => ({ purpose: 'vault organization key', org: orgId });

/** An OAuth provider's client secret: sealed by the master keyring directly (it belongs to the deployment). */
export const providerSecretContext = (providerId: string) => ({
  purpose: 'vault provider client secret',
  provider: providerId,
});

export interface FieldContext {
  org: string;
  connection: string;
  field: string;
  provider: string;
}
const fieldContext = (c: FieldContext) => ({ purpose: 'vault secret', ...c });

/** The org's KEK (a copy the caller wipes), created on first use when `create` is set; inside withTenant(orgId). */
export async function orgKek(
  tx: Tx,
  deps: { keyring: Keyring; clock: Clock; random?: RandomSource },
  orgId: string,
  opts: { create: boolean },
): Promise<Buffer | undefined> {
  let row = await tx.selectFrom('org_keys').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  if (!row && opts.create) {
    const kek = draw(deps.random ?? systemRandom, KEK_BYTES);
    const sealed = seal(deps.keyring, kek, orgKeyContext(orgId), deps.random);
    kek.fill(0);
    await tx
      .insertInto('org_keys')
      .values({ org_id: orgId, kek_sealed: sealed, created_at: deps.clock.now() })
      .onConflict((oc) => oc.column('org_id').doNothing())
      .execute();
    row = await tx.selectFrom('org_keys').selectAll().where('org_id', '=', orgId).executeTakeFirstOrThrow();
  }
  if (!row) return undefined;
  if (row.kek_sealed === null) throw new OrgKeyDestroyedError("this organization's key was destroyed");
  return open(deps.keyring, row.kek_sealed, orgKeyContext(orgId));
}

/** A keyring of one key: the KEK, so the envelope format (and its checks) serve the second layer too. */
function kekKeyring(kek: Buffer): Keyring {
  return {
    current: 1,
    versions: () => [1],
    key: () => Buffer.from(kek),
  };
}

export function sealField(kek: Buffer, plaintext: string, ctx: FieldContext, random?: RandomSource): string {
  return seal(kekKeyring(kek), plaintext, fieldContext(ctx), random);
}

/** Throws DecryptError when the value was moved to another org, connection, field or provider. */
export function openField(kek: Buffer, sealed: string, ctx: FieldContext): string {
  const plain = openFieldBytes(kek, sealed, ctx);
  try {
    return plain.toString('utf8');
  } finally {
    plain.fill(0);
  }
}

/** As openField, as bytes the caller wipes (fill(0)) once used: a string cannot be wiped. */
export function openFieldBytes(kek: Buffer, sealed: string, ctx: FieldContext): Buffer {
  return open(kekKeyring(kek), sealed, fieldContext(ctx));
}

/**
 * What every page and response shows of a secret: a short non-secret prefix (sk_live_), the last
 * four characters, and never more than a quarter of the secret; short secrets show only dots.
 */
export function maskOf(secret: string): string {
  const chars = [...secret];
  if (chars.length < 16) return '••••••••';
  const prefix = /^[A-Za-z]{1,8}[_-](?:[A-Za-z]{1,6}[_-])?/.exec(secret)?.[0] ?? chars.slice(0, 2).join('');
  return `${prefix.length <= chars.length / 4 ? prefix : chars.slice(0, 2).join('')}…${chars.slice(-4).join('')}`;
}

/** Tells two keys apart without revealing either: keyed by the org's KEK, so it means nothing elsewhere. */
export function fingerprintOf(kek: Buffer, secret: string): string {
  const key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'rampart vault fingerprint v1', 32));
  try {
    return createHmac('sha256', key).update(secret, 'utf8').digest('hex').slice(0, 12);
  } finally {
    key.fill(0);
  }
}

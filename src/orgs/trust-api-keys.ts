import { randomUUID } from 'node:crypto';
import type { TrustCheck, TrustProbe } from '../feature.js';
import { randomString } from '../platform/crypto/random.js';
import { randomToken } from '../platform/crypto/tokens.js';
import type { Database } from '../platform/db/database.js';
import { type ApiKeyService, MAX_KEY_DAYS } from './api-keys.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SAMPLE_KEYS = 200;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const KEY_ID = /^[a-z0-9]{16}$/;
const madeUpKeyId = () => randomString('abcdefghijklmnopqrstuvwxyz0123456789', 16);

/** A string anywhere in a stored row that has the shape of a whole key. */
const holdsKey = (row: Record<string, unknown>) =>
  Object.values(row).some((v) =>
    (Array.isArray(v) ? v : [v]).some((x) => typeof x === 'string' && /rmp_live_[a-z0-9]{16}_/.test(x)),
  );

/** A made-up key of the right shape, sent as a client would: refused with invalid_api_key. */
async function madeUpKeyProblem(probe: TrustProbe): Promise<string | undefined> {
  const key = `rmp_live_${madeUpKeyId()}_${randomToken()}`;
  const res = await probe.request(`/api/v1/orgs/${randomUUID()}/api-keys`, {
    headers: { authorization: `Bearer ${key}` },
  });
  if (res.status !== 401) return `a made-up key of the right shape got ${res.status}, not 401`;
  if (!res.body.includes('invalid_api_key')) return 'a made-up key was refused without the invalid_api_key code';
  return undefined;
}

interface StoredKeys {
  keys: number;
  problems: string[];
  /** A stored key id, to present with a made-up secret. */
  someId?: string;
}

/** Live keys as stored: hashed, prefixed ids, expiring within the limit. */
async function storedKeyProblems(db: Database): Promise<StoredKeys> {
  const directory = await db.withSystem((tx) =>
    tx.selectFrom('api_key_directory').select(['key_id', 'org_id']).limit(SAMPLE_KEYS).execute(),
  );
  const orgIds = [...new Set(directory.map((d) => d.org_id))];
  const problems: string[] = [];
  let keys = 0;
  let someId: string | undefined;
  const counts = { clear: 0, unhashed: 0, badId: 0, noExpiry: 0, tooLong: 0 };
  for (const orgId of orgIds) {
    const rows = await db.withTenant(orgId, (tx) =>
      tx.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('revoked_at', 'is', null).execute(),
    );
    for (const r of rows) {
      keys++;
      someId ??= r.id;
      if (holdsKey(r)) counts.clear++;
      if (!SHA256_HEX.test(r.key_hash)) counts.unhashed++;
      if (!KEY_ID.test(r.id)) counts.badId++;
      if (!r.expires_at) counts.noExpiry++;
      else if (r.expires_at.getTime() - r.created_at.getTime() > MAX_KEY_DAYS * DAY_MS) counts.tooLong++;
    }
  }
  if (counts.clear) problems.push(`${counts.clear} stored key row(s) hold a whole key in the clear`);
  if (counts.unhashed) problems.push(`${counts.unhashed} key(s) are stored without a SHA-256 hash`);
  if (counts.badId) problems.push(`${counts.badId} key(s) have an id that is not a 16-character prefix`);
  if (counts.noExpiry) problems.push(`${counts.noExpiry} key(s) never expire`);
  if (counts.tooLong) problems.push(`${counts.tooLong} key(s) live longer than ${MAX_KEY_DAYS} days`);
  return { keys, problems, someId };
}

/** O6: keys are refused unless whole and matching their hash, stored hashed with a prefix, and all expire. */
export function apiKeyCheck(deps: { db: Database; apiKeys: ApiKeyService }): TrustCheck {
  return {
    control: 'O6',
    id: 'org-api-keys',
    title:
      'Organization API keys are stored only as hashes under a public prefix, all expire within a year, and a ' +
      'key that is not one of them is refused',
    async run(probe) {
      const problems: string[] = [];
      const madeUp = await madeUpKeyProblem(probe);
      if (madeUp) problems.push(madeUp);
      const stored = await storedKeyProblems(deps.db);
      problems.push(...stored.problems);
      // A real prefix with a made-up secret: only the stored hash can tell them apart.
      if (stored.someId && (await deps.apiKeys.authenticate(`rmp_live_${stored.someId}_${randomToken()}`, null)))
        problems.push("a stored key's prefix with a made-up secret was accepted");
      if (problems.length > 0) return { status: 'failing', detail: problems.join('; ') };
      const realPrefix = stored.someId ? "; a stored key's prefix with a made-up secret was refused" : '';
      return {
        status: 'passing',
        detail:
          `a made-up rmp_live_ key got 401 invalid_api_key${realPrefix}; ${stored.keys} live key(s) are stored ` +
          `as SHA-256 hashes under a 16-character prefix, none in the clear, none without expiry, and all expire ` +
          `within ${MAX_KEY_DAYS} days`,
      };
    },
  };
}

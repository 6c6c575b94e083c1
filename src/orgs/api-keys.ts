import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { randomString } from '../platform/crypto/random.js';
import { hashToken, randomToken, tokenMatches, type RandomSource } from '../platform/crypto/tokens.js';
import type { Tenancy } from '../platform/db/database.js';
import type { EventBus } from '../platform/events/bus.js';
import { entryMessage, InvalidatedCache } from '../platform/events/invalidated-cache.js';
import { notFound, platformError } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { orgError } from './errors.js';
import { can, isPermission, type Permission } from './permissions.js';
import * as repo from './repository.js';
import { actorRef, type Actor, type OrgService } from './service.js';

export const KEY_PATTERN = /^rmp_live_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
export const MAX_KEY_DAYS = 366;
/** last_used is written at most this often per key: a busy key must not write on every call. */
const TOUCH_EVERY_MS = 60_000;

export interface ApiKeyInfo {
  id: string;
  prefix: string;
  name: string;
  scopes: Permission[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
}

export type KeyPrincipal = Extract<Actor, { kind: 'key' }>;

/** Tells every instance to drop a key it keeps (revocation). */
export const API_KEY_EVENTS = 'api_key_invalidated';

/** What a verified key needs to be checked again without the database. */
interface KnownKey {
  orgId: string;
  keyHash: string;
  scopes: Set<Permission>;
  createdBy: string;
  expiresAt: Date;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
}

const keyIdAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

// 16 characters from 36: ~82 bits, unguessable enough for a public identifier, and short enough to show.
const newKeyId = (random?: RandomSource) => randomString(keyIdAlphabet, 16, random);

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

export function createApiKeyService(deps: {
  db: Tenancy;
  bus: EventBus;
  clock: Clock;
  orgs: OrgService;
  onError?: (err: unknown) => void;
  random?: RandomSource;
}) {
  const { db, clock, orgs } = deps;
  const known = new InvalidatedCache<KnownKey>({ bus: deps.bus, channel: API_KEY_EVENTS, onError: deps.onError });

  async function forget(keyIds: string[]): Promise<void> {
    for (const id of keyIds) await known.broadcast(entryMessage(id));
  }

  /** Directory (which organization), then the key row in that tenant: two transactions. */
  async function load(keyId: string): Promise<KnownKey | undefined> {
    const entry = await db.withSystem((tx) => repo.keyDirectoryEntry(tx, keyId));
    if (!entry) return undefined;
    const row = await db.withTenant(entry.org_id, (tx) => repo.liveApiKey(tx, keyId));
    if (!row) return undefined;
    return {
      orgId: row.org_id,
      keyHash: row.key_hash,
      scopes: new Set(row.scopes as Permission[]),
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      lastUsedAt: row.last_used_at,
      lastUsedIp: row.last_used_ip,
    };
  }

  return {
    /** O6: shown once. Scopes must be a subset of what the creator's role allows. */
    async create(
      actor: Actor,
      orgId: string,
      input: { name: string; scopes: Permission[]; expiresInDays: number },
      context: RequestContext,
    ): Promise<{ key: string; info: ApiKeyInfo }> {
      if (!Number.isInteger(input.expiresInDays) || input.expiresInDays < 1 || input.expiresInDays > MAX_KEY_DAYS) {
        throw platformError('invalid_request', {
          message: `Keys expire after 1 to ${MAX_KEY_DAYS} days.`,
          fields: [{ field: 'expiresInDays', message: `must be 1 to ${MAX_KEY_DAYS}` }],
        });
      }
      const unknown = input.scopes.filter((s) => !isPermission(s));
      if (unknown.length || input.scopes.length === 0)
        throw platformError('invalid_request', {
          message: 'Choose at least one known scope.',
          fields: [{ field: 'scopes', message: `unknown: ${unknown.join(', ') || 'none chosen'}` }],
        });
      return orgs.withPermission(actor, orgId, 'api_keys.create', async (tx, role) => {
        if (actor.kind !== 'user') throw orgError('forbidden', { message: 'API keys cannot create API keys.' });
        if (input.scopes.some((s) => !can(role, s)))
          throw orgError('forbidden', { message: 'A key cannot have a scope your own role does not have.' });
        const id = newKeyId(deps.random);
        const key = `rmp_live_${id}_${randomToken(deps.random)}`;
        const now = clock.now();
        const expiresAt = new Date(now.getTime() + input.expiresInDays * 24 * 60 * 60 * 1000);
        await repo.insertApiKey(tx, {
          id,
          org_id: orgId,
          name: input.name,
          key_hash: hashToken(key),
          scopes: input.scopes,
          created_by: actor.userId,
          created_at: now,
          expires_at: expiresAt,
        });
        await repo.insertKeyDirectoryEntry(tx, id, orgId);
        await appendAudit(
          tx,
          {
            stream: orgStream(orgId),
            action: 'api_key.created',
            actor: `user:${actor.userId}`,
            target: `api_key:${id}`,
            context,
            payload: { name: input.name, scopes: input.scopes, expiresAt: expiresAt.toISOString() },
          },
          clock,
        );
        return {
          key,
          info: {
            id,
            prefix: `rmp_live_${id}`,
            name: input.name,
            scopes: input.scopes,
            createdBy: actor.userId,
            createdAt: now,
            expiresAt,
            lastUsedAt: null,
            lastUsedIp: null,
          },
        };
      });
    },

    list: (actor: Actor, orgId: string): Promise<ApiKeyInfo[]> =>
      orgs.withPermission(actor, orgId, 'api_keys.read', async (tx) => {
        const rows = await repo.liveApiKeys(tx, orgId);
        return rows.map((r) => ({
          id: r.id,
          prefix: `rmp_live_${r.id}`,
          name: r.name,
          scopes: r.scopes as Permission[],
          createdBy: r.created_by,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
          lastUsedAt: r.last_used_at,
          lastUsedIp: r.last_used_ip,
        }));
      }),

    /** Returns once every instance has dropped the key (S3-style instant revocation). */
    async revoke(actor: Actor, orgId: string, keyId: string, context: RequestContext): Promise<void> {
      await orgs.withPermission(actor, orgId, 'api_keys.revoke', async (tx) => {
        const r = await repo.revokeApiKey(tx, orgId, keyId, clock.now());
        if (!r) throw notFound('That API key');
        await appendAudit(
          tx,
          {
            stream: orgStream(orgId),
            action: 'api_key.revoked',
            actor: actorRef(actor),
            target: `api_key:${keyId}`,
            context,
            payload: { name: r.name },
          },
          clock,
        );
      });
      await forget([keyId]);
    },

    /** Every instance drops these keys from memory (revoked elsewhere: a member who left). */
    forget,

    /**
     * The organization and scopes a presented key stands for, or undefined. A verified key is kept
     * in memory until a revocation on any instance drops it; the hash and expiry are checked on every call.
     */
    async authenticate(presented: string, ip: string | null): Promise<KeyPrincipal | undefined> {
      const match = KEY_PATTERN.exec(presented);
      if (!match) return undefined;
      const keyId = match[1]!;
      let key = await known.getOrLoad(keyId, () => load(keyId));
      if (!key) return undefined;
      if (!tokenMatches(presented, key.keyHash)) return undefined;
      const now = clock.now();
      if (key.expiresAt <= now) return undefined;
      if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= TOUCH_EVERY_MS || key.lastUsedIp !== ip) {
        await db.withTenant(key.orgId, (tx) => repo.touchApiKey(tx, keyId, now, ip));
        key = { ...key, lastUsedAt: now, lastUsedIp: ip };
        known.update(keyId, key);
      }
      return {
        kind: 'key',
        keyId,
        orgId: key.orgId,
        scopes: key.scopes,
        createdBy: key.createdBy,
      } satisfies KeyPrincipal;
    },

    close: () => known.close(),
  };
}

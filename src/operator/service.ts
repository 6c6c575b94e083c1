import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { hashToken, randomToken, tokenMatches, type RandomSource } from '../platform/crypto/tokens.js';
import type { Tenancy } from '../platform/db/database.js';
import { operatorError } from './errors.js';
import * as repo from './repository.js';

/** `rop_` and 256 random bits (base64url): the prefix tells a leaked token apart (secret scanners). */
export const OPERATOR_TOKEN = /^rop_[A-Za-z0-9_-]{43}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** last_used_at is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

export interface OperatorTokenInfo {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Who an authenticated operator request is: the token it presented, or the console account signed in. */
export interface Operator {
  /** The token's name, or the console account's e-mail address. */
  name: string;
  tokenId?: string;
  userId?: string;
}

/** The audit actor of an operator: `operator:<token name>` (or `cli` for the `rampart` command). */
export const operatorActor = (op: Operator | 'cli'): string => (op === 'cli' ? 'cli' : `operator:${op.name}`);

const info = (row: repo.TokenRow): OperatorTokenInfo => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export type OperatorTokens = ReturnType<typeof createOperatorTokens>;

export function createOperatorTokens(deps: { db: Tenancy; clock: Clock; random?: RandomSource }) {
  const { db, clock } = deps;
  return {
    /** The token is in the answer and nowhere else: only its SHA-256 is stored. */
    async create(name: string): Promise<{ token: string; info: OperatorTokenInfo }> {
      if (!NAME.test(name)) throw operatorError('operator_token_name_invalid');
      const token = `rop_${randomToken(deps.random)}`;
      const row = await db.withSystem(async (tx) => {
        if (await repo.liveTokenNamed(tx, name)) throw operatorError('operator_token_exists');
        const row = await repo.insertToken(tx, { name, token_hash: hashToken(token), created_at: clock.now() });
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'operator.token_created',
            actor: operatorActor('cli'),
            target: `operator_token:${row.id}`,
            payload: { name },
          },
          clock,
        );
        return row;
      });
      return { token, info: info(row) };
    },

    list: async (): Promise<OperatorTokenInfo[]> => (await db.withSystem((tx) => repo.listTokens(tx))).map(info),

    /** By name or id; a revoked token is refused from its next request on, on every instance. */
    async revoke(nameOrId: string): Promise<OperatorTokenInfo> {
      return db.withSystem(async (tx) => {
        const row =
          (NAME.test(nameOrId) ? await repo.liveTokenNamed(tx, nameOrId) : undefined) ??
          (UUID.test(nameOrId) ? await repo.liveTokenWithId(tx, nameOrId.toLowerCase()) : undefined);
        if (!row) throw operatorError('operator_token_not_found');
        const now = clock.now();
        await repo.revokeToken(tx, row.id, now);
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'operator.token_revoked',
            actor: operatorActor('cli'),
            target: `operator_token:${row.id}`,
            payload: { name: row.name },
          },
          clock,
        );
        return info({ ...row, revoked_at: now });
      });
    },

    /**
     * The operator a presented token stands for, if it is live. Found by its hash (the token is 256
     * random bits: the hash is as good a key as the token), then compared in constant time.
     */
    async authenticate(presented: string): Promise<Operator | undefined> {
      if (!OPERATOR_TOKEN.test(presented)) return undefined;
      const row = await db.withSystem((tx) => repo.liveTokenByHash(tx, hashToken(presented)));
      if (!row || !tokenMatches(presented, row.token_hash)) return undefined;
      const now = clock.now();
      if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() >= TOUCH_EVERY_MS)
        await db.withSystem((tx) => repo.touchToken(tx, row.id, now));
      return { tokenId: row.id, name: row.name };
    },
  };
}

import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import * as repo from './repository.js';

/** Models whose artifact may be used once: a second use is replay (RFC 9700 §4.14.2, RFC 6749 §4.1.2). */
const SINGLE_USE = new Set(['AuthorizationCode', 'RefreshToken']);

export interface AdapterDeps {
  db: Tenancy;
  clock: Clock;
  /** The Client model: oidc-provider's metadata of a registered client (clients live in their own table). */
  findClient(clientId: string): Promise<AdapterPayload | undefined>;
  /**
   * A single-use artifact lost the race to be used (two requests with the same code or refresh token at once):
   * its grant is revoked before the loser hears `invalid_grant`.
   */
  onConcurrentReuse(model: string, grantId: string): Promise<void>;
  /** The error the loser of that race gets: oidc-provider's InvalidGrant. */
  invalidGrant(message: string): Error;
}

/**
 * oidc-provider's storage contract on Kysely: one row per artifact in oidc_artifacts, expiry kept
 * as a column (an expired artifact is never found; sweep() deletes them).
 */
export function kyselyAdapter(deps: AdapterDeps): new (model: string) => Adapter {
  const { db, clock } = deps;
  return class KyselyAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered by the operator, not by the provider');
      const expiresAt = expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null;
      await db.withSystem((tx) => repo.upsertArtifact(tx, this.model, id, { ...payload }, expiresAt));
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return deps.findClient(id);
      return this.#found(await db.withSystem((tx) => repo.findArtifact(tx, this.model, 'id', id)));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.#found(await db.withSystem((tx) => repo.findArtifact(tx, this.model, 'uid', uid)));
    }

    async findByUserCode(): Promise<AdapterPayload | undefined> {
      return undefined; // the device flow is off
    }

    async consume(id: string): Promise<void> {
      const first = await db.withSystem((tx) => repo.consumeArtifact(tx, this.model, id, clock.now()));
      if (first || !SINGLE_USE.has(this.model)) return;
      const row = await db.withSystem((tx) => repo.findArtifact(tx, this.model, 'id', id));
      const grantId = row?.payload.grantId;
      if (typeof grantId === 'string') await deps.onConcurrentReuse(this.model, grantId);
      throw deps.invalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await db.withSystem((tx) => repo.deleteArtifact(tx, this.model, id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.withSystem((tx) => repo.deleteArtifactsOfGrant(tx, this.model, grantId));
    }

    #found(row: repo.ArtifactRow | undefined): AdapterPayload | undefined {
      if (!row || (row.expires_at && row.expires_at <= clock.now())) return undefined;
      const payload = row.payload as AdapterPayload;
      return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
    }
  };
}

/** Deletes the artifacts that have expired (they are never found once expired; this frees their rows). */
export const sweepExpired = (db: Tenancy, now: Date) => db.withSystem((tx) => repo.sweepArtifacts(tx, now));

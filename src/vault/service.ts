import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Actor, OrgService } from '../orgs/index.js';
import { actorRef, orgOwnersForOperator } from '../orgs/index.js';
import { appendAudit, orgStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { DecryptError } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { ConnectionStatus } from '../platform/db/tables.js';
import { AppError, notFound, rateLimited } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';
import type { Mailer } from '../platform/mail/index.js';
import { createOutboundFetch, type OutboundFetch, type OutboundPolicy } from '../platform/outbound-fetch.js';
import type { RequestContext } from '../platform/request-context.js';
import { type OpenedFields, presentingFetch } from './credential.js';
import { vaultError } from './errors.js';
import type { ProviderRegistry, ProviderRow } from './providers.js';
import * as repo from './repository.js';
import { fingerprintOf, maskOf, openFieldBytes, orgKek, OrgKeyDestroyedError, sealField } from './sealing.js';

export interface ConnectionView {
  id: string;
  providerId: string;
  label: string;
  kind: 'api_key' | 'oauth';
  status: ConnectionStatus;
  statusDetail: string | null;
  checkedAt: Date | null;
  mask: string;
  fingerprint: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A pasted key: one secret (bearer, header, query), or a username and password (basic). */
export type SecretInput = { secret: string } | { username: string; password: string };

export interface VaultDeps {
  db: Tenancy;
  keyring: Keyring;
  clock: Clock;
  orgs: OrgService;
  providers: ProviderRegistry;
  mailer: Mailer;
  logger: Logger;
  baseUrl: string;
  dev: boolean;
  /** Tests: their own CA and resolver for the outbound fetch. */
  outbound?: Partial<OutboundPolicy>;
  limits: Limits;
  /** Requests to providers per organization and minute made for someone (proxy, checks); Rampart's own are free. */
  requestsPerMinute: number;
  /** OAuth connections: the current access token (refreshed as needed), from the OAuth half. */
  oauthAccessToken?: (orgId: string, connectionId: string) => Promise<string>;
  /** OAuth connections: revoke the grant at the provider and delete the connection (audited there). */
  onOauthDelete?: (orgId: string, connectionId: string, by?: string, context?: RequestContext) => Promise<unknown>;
}

const view = (r: repo.ConnectionRow): ConnectionView => ({
  id: r.id,
  providerId: r.provider_id,
  label: r.label,
  kind: r.kind,
  status: r.status,
  statusDetail: r.status_detail,
  checkedAt: r.checked_at,
  mask: r.mask,
  fingerprint: r.fingerprint,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

type CheckOutcome = { status: 'valid' | 'invalid' | 'error' | 'unchecked'; detail: string | null };

export type VaultService = ReturnType<typeof createVaultService>;

export function createVaultService(deps: VaultDeps) {
  const { db, clock, orgs, providers } = deps;
  const perOrg = deps.limits.limiter('vault_requests', { points: deps.requestsPerMinute, durationSec: 60 });

  async function providerOf(id: string): Promise<ProviderRow> {
    const p = await providers.row(id);
    if (!p) throw vaultError('provider_unknown');
    return p;
  }

  /** The secret fields of a pasted key, checked against the provider's auth style. */
  function fieldsOf(p: ProviderRow, input: SecretInput): Array<[string, string]> {
    if (p.kind !== 'api_key') throw vaultError('connection_kind_mismatch');
    const bad = (field: string, message: string) => vaultError('provider_invalid', { fields: [{ field, message }] });
    if (p.auth_style === 'basic') {
      if (!('password' in input) || !input.password) throw bad('password', 'is required');
      if (/[:\r\n]/.test(input.username)) throw bad('username', 'may not contain a colon or a line break');
      return [
        ['username', input.username],
        ['password', input.password],
      ];
    }
    if (!('secret' in input) || !input.secret) throw bad('secret', 'is required');
    if (/[\r\n\0]/.test(input.secret)) throw bad('secret', 'may not contain line breaks');
    return [['api_key', input.secret]];
  }

  function sealAll(kek: Buffer, orgId: string, connectionId: string, providerId: string, fields: [string, string][]) {
    const secret = fields.find(([f]) => f === 'password' || f === 'api_key')![1];
    const identity = fields.map(([, v]) => v).join('\u0000');
    return {
      mask: maskOf(secret),
      fingerprint: fingerprintOf(kek, identity),
      sealed: fields.map(([field, value]) => ({
        field,
        sealed: sealField(kek, value, { org: orgId, connection: connectionId, field, provider: providerId }),
      })),
    };
  }

  async function kekFor(tx: Tx, orgId: string, create: boolean): Promise<Buffer> {
    try {
      const kek = await orgKek(tx, deps, orgId, { create });
      if (!kek) throw vaultError('connection_key_destroyed');
      return kek;
    } catch (err) {
      if (err instanceof OrgKeyDestroyedError) throw vaultError('connection_key_destroyed');
      throw err;
    }
  }

  const audit = (
    tx: Tx,
    orgId: string,
    action: Parameters<typeof appendAudit>[1]['action'],
    actor: string | null,
    connectionId: string,
    payload: Record<string, unknown>,
    context?: RequestContext,
  ) =>
    appendAudit(
      tx,
      { stream: orgStream(orgId), action, actor, target: `connection:${connectionId}`, context, payload },
      clock,
    );

  /**
   * D1: the only place a secret is opened. `fn` gets a fetch bound to the provider's allowed hosts
   * that adds the credential to each request; every request is a `connection.used` event.
   */
  async function useCredential<T>(
    orgId: string,
    connectionId: string,
    purpose: string,
    fn: (fetch: OutboundFetch, info: { hosts: readonly string[]; connection: ConnectionView }) => Promise<T>,
    opts: { actor?: string; context?: RequestContext } = {},
  ): Promise<T> {
    if (opts.actor && !opts.actor.startsWith('system:')) {
      const verdict = await perOrg.consume(orgId);
      if (!verdict.allowed) throw rateLimited(verdict.retryAfterSec);
    }
    const opened = await db.withTenant(orgId, async (tx) => {
      const row = await repo.connection(tx, orgId, connectionId);
      if (!row) throw notFound('That connection');
      if (row.kind === 'oauth') return { row, fields: new Map<string, Buffer>() };
      const sealed = await repo.secrets(tx, orgId, connectionId);
      const kek = await kekFor(tx, orgId, false);
      const fields: OpenedFields = new Map();
      try {
        for (const s of sealed) {
          const ctx = { org: orgId, connection: connectionId, field: s.field, provider: row.provider_id };
          fields.set(s.field, openFieldBytes(kek, s.sealed, ctx));
        }
      } catch (err) {
        for (const v of fields.values()) v.fill(0);
        if (err instanceof DecryptError) throw vaultError('connection_unreadable');
        throw err;
      } finally {
        kek.fill(0);
      }
      return { row, fields };
    });
    const { row, fields } = opened;
    try {
      const provider = await providerOf(row.provider_id);
      if (row.kind === 'oauth') {
        if (!deps.oauthAccessToken) throw vaultError('connection_no_token');
        fields.set('access_token', Buffer.from(await deps.oauthAccessToken(orgId, connectionId), 'utf8'));
      }
      if (fields.size === 0) throw vaultError('connection_unreadable');
      const inner = createOutboundFetch({
        ...deps.outbound,
        allowedHosts: provider.allowed_hosts,
        dev: deps.dev,
      });
      const presented = presentingFetch(
        inner,
        provider.allowed_hosts,
        { style: provider.auth_style, name: provider.auth_name },
        fields,
        (url, method, outcome) =>
          db.withTenant(orgId, (tx) =>
            audit(
              tx,
              orgId,
              'connection.used',
              opts.actor ?? null,
              connectionId,
              {
                provider: provider.id,
                purpose,
                method,
                host: url.hostname,
                path: url.pathname,
                ...(outcome.status !== undefined ? { status: outcome.status } : { error: outcome.error }),
              },
              opts.context,
            ).then(() => undefined),
          ),
      );
      return await fn(presented, { hosts: provider.allowed_hosts, connection: view(row) });
    } finally {
      for (const v of fields.values()) v.fill(0);
    }
  }

  /** The provider's validation request: 2xx valid, 401/403 invalid, anything else (or no answer) error. */
  async function check(
    orgId: string,
    connectionId: string,
    provider: ProviderRow,
    actor?: string,
  ): Promise<CheckOutcome> {
    if (!provider.validation_method || !provider.validation_path) return { status: 'unchecked', detail: null };
    const url = `https://${provider.allowed_hosts[0]}${provider.validation_path}`;
    try {
      const status = await useCredential(
        orgId,
        connectionId,
        'validate',
        async (f) => (await f(url, { method: provider.validation_method! })).status,
        { actor },
      );
      if (status >= 200 && status < 300) return { status: 'valid', detail: null };
      if (status === 401 || status === 403) return { status: 'invalid', detail: `the provider answered ${status}` };
      return { status: 'error', detail: `the provider answered ${status}` };
    } catch (err) {
      if (err instanceof AppError && err.code === 'connection_request_failed')
        return { status: 'error', detail: err.message };
      throw err;
    }
  }

  /** Runs the check and records it (connection.checked); the stored key stays whatever the verdict. */
  async function checkAndRecord(orgId: string, connectionId: string, actor: string | null, context?: RequestContext) {
    const row = await db.withTenant(orgId, (tx) => repo.connection(tx, orgId, connectionId));
    if (!row) throw notFound('That connection');
    const provider = await providerOf(row.provider_id);
    const outcome = await check(orgId, connectionId, provider, actor ?? undefined);
    return db.withTenant(orgId, async (tx) => {
      const now = clock.now();
      const updated = await tx
        .updateTable('vault_connections')
        .set({
          status: outcome.status,
          status_detail: outcome.detail,
          checked_at: outcome.status === 'unchecked' ? null : now,
          updated_at: now,
        })
        .where('org_id', '=', orgId)
        .where('id', '=', connectionId)
        .where('fingerprint', '=', row.fingerprint)
        .returningAll()
        .executeTakeFirst();
      if (!updated) return view((await repo.connection(tx, orgId, connectionId)) ?? row);
      if (outcome.status !== 'unchecked')
        await audit(tx, orgId, 'connection.checked', actor, connectionId, { status: outcome.status }, context);
      return view(updated);
    });
  }

  async function notifyOwners(orgId: string, row: { id: string; label: string }, status: ConnectionStatus) {
    const org = await orgOwnersForOperator(db, orgId);
    if (!org) return;
    const link = `${deps.baseUrl.replace(/\/$/, '')}/orgs/${orgId}/connections`;
    const what =
      status === 'revoked'
        ? 'was refused by its provider (revoked or expired): requests that use it will fail'
        : status === 'valid'
          ? 'works again'
          : 'is refused by its provider (invalid): requests that use it will fail';
    const text =
      `The connection "${row.label}" of ${org.name} ${what}.\n\n` +
      `See its status, replace its key or delete it: ${link}\n`;
    for (const to of org.owners)
      deps.mailer
        .send({ to, subject: `A connection of ${org.name} needs attention`, text })
        .catch((err) => deps.logger.error({ err }, 'a connection status mail failed'));
  }

  return {
    useCredential,

    list: (actor: Actor, orgId: string): Promise<ConnectionView[]> =>
      orgs.withPermission(actor, orgId, 'connections.read', async (tx) =>
        (await repo.connections(tx, orgId)).map(view),
      ),

    get: (actor: Actor, orgId: string, id: string): Promise<ConnectionView> =>
      orgs.withPermission(actor, orgId, 'connections.read', async (tx) => {
        const row = await repo.connection(tx, orgId, id);
        if (!row) throw notFound('That connection');
        return view(row);
      }),

    /** Stores the key sealed, then checks it with the provider (the key is kept whatever the answer). */
    async create(
      actor: Actor,
      orgId: string,
      input: { providerId: string; label: string } & SecretInput,
      context?: RequestContext,
    ): Promise<ConnectionView> {
      // The permission first: an outsider learns nothing, not even which providers exist.
      await orgs.withPermission(actor, orgId, 'connections.manage', async () => undefined);
      const provider = await providerOf(input.providerId);
      const id = randomUUID();
      await orgs.withPermission(actor, orgId, 'connections.manage', async (tx) => {
        const fields = fieldsOf(provider, input);
        if (await repo.labelTaken(tx, orgId, input.label)) throw vaultError('connection_label_taken');
        const kek = await kekFor(tx, orgId, true);
        try {
          const s = sealAll(kek, orgId, id, provider.id, fields);
          const now = clock.now();
          // Two requests with one label at once both pass the check above: the constraint decides.
          const inserted = await tx
            .insertInto('vault_connections')
            .values({
              id,
              org_id: orgId,
              provider_id: provider.id,
              label: input.label,
              kind: 'api_key',
              status: 'unchecked',
              mask: s.mask,
              fingerprint: s.fingerprint,
              created_by: actor.kind === 'user' ? actor.userId : null,
              created_at: now,
              updated_at: now,
            })
            .onConflict((oc) => oc.columns(['org_id', 'label']).doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!inserted) throw vaultError('connection_label_taken');
          await repo.putSecrets(tx, orgId, id, s.sealed);
          await audit(
            tx,
            orgId,
            'connection.created',
            actorRef(actor),
            id,
            {
              provider: provider.id,
              label: input.label,
              mask: s.mask,
              fingerprint: s.fingerprint,
            },
            context,
          );
        } finally {
          kek.fill(0);
        }
      });
      return checkAndRecord(orgId, id, actorRef(actor), context);
    },

    /** A new key in place of the old one (never shown), checked like a new one. */
    async replaceSecret(actor: Actor, orgId: string, id: string, input: SecretInput, context?: RequestContext) {
      const current = await orgs.withPermission(actor, orgId, 'connections.manage', (tx) =>
        repo.connection(tx, orgId, id),
      );
      if (!current) throw notFound('That connection');
      const provider = await providerOf(current.provider_id);
      await orgs.withPermission(actor, orgId, 'connections.manage', async (tx) => {
        const row = await repo.connection(tx, orgId, id);
        if (!row) throw notFound('That connection');
        if (row.kind !== 'api_key') throw vaultError('connection_kind_mismatch');
        const fields = fieldsOf(provider, input);
        const kek = await kekFor(tx, orgId, false);
        try {
          const s = sealAll(kek, orgId, id, provider.id, fields);
          const now = clock.now();
          await tx
            .updateTable('vault_connections')
            .set({
              mask: s.mask,
              fingerprint: s.fingerprint,
              status: 'unchecked',
              status_detail: null,
              checked_at: null,
              updated_at: now,
            })
            .where('org_id', '=', orgId)
            .where('id', '=', id)
            .execute();
          await repo.putSecrets(tx, orgId, id, s.sealed);
          await audit(
            tx,
            orgId,
            'connection.secret_replaced',
            actorRef(actor),
            id,
            {
              previousFingerprint: row.fingerprint,
              mask: s.mask,
              fingerprint: s.fingerprint,
            },
            context,
          );
        } finally {
          kek.fill(0);
        }
      });
      return checkAndRecord(orgId, id, actorRef(actor), context);
    },

    /** Check now (connections.manage). */
    async checkNow(actor: Actor, orgId: string, id: string, context?: RequestContext): Promise<ConnectionView> {
      await orgs.withPermission(actor, orgId, 'connections.manage', async (tx) => {
        if (!(await repo.connection(tx, orgId, id))) throw notFound('That connection');
      });
      return checkAndRecord(orgId, id, actorRef(actor), context);
    },

    /** Immediate: the sealed secrets go with the row. An OAuth grant is revoked at the provider first. */
    async remove(actor: Actor, orgId: string, id: string, context?: RequestContext): Promise<void> {
      const row = await orgs.withPermission(actor, orgId, 'connections.manage', (tx) => repo.connection(tx, orgId, id));
      if (!row) throw notFound('That connection');
      if (row.kind === 'oauth' && deps.onOauthDelete) {
        await deps.onOauthDelete(orgId, id, actorRef(actor), context);
        return;
      }
      await orgs.withPermission(actor, orgId, 'connections.manage', async (tx) => {
        const gone = await tx
          .deleteFrom('vault_connections')
          .where('org_id', '=', orgId)
          .where('id', '=', id)
          .returning(['label', 'provider_id', 'fingerprint'])
          .executeTakeFirst();
        if (!gone) throw notFound('That connection');
        await audit(
          tx,
          orgId,
          'connection.deleted',
          actorRef(actor),
          id,
          {
            provider: gone.provider_id,
            label: gone.label,
            fingerprint: gone.fingerprint,
          },
          context,
        );
      });
    },

    /** Crypto-shredding: the org's key is cleared, for good; no key is made again for its rows. */
    async destroyOrgKey(orgId: string, actor: string | null = null, context?: RequestContext): Promise<void> {
      await db.withTenant(orgId, async (tx) => {
        const now = clock.now();
        await tx
          .insertInto('org_keys')
          .values({ org_id: orgId, kek_sealed: null, created_at: now, destroyed_at: now })
          .onConflict((oc) => oc.column('org_id').doUpdateSet({ kek_sealed: null, destroyed_at: now }))
          .execute();
        await appendAudit(
          tx,
          {
            stream: orgStream(orgId),
            action: 'vault.org_key_destroyed',
            actor,
            target: `org:${orgId}`,
            context,
            payload: {},
          },
          clock,
        );
      });
    },

    /**
     * The scheduled re-check: each api_key connection whose provider can check it. A key once valid
     * and now refused is revoked, one never valid invalid; no answer leaves the status as it was.
     * Each change is audited and mailed to the owners once (the conditional update claims it).
     */
    async recheckAll(): Promise<{ checked: number; changed: number }> {
      const rows = await db.withSystem((tx) => repo.checkable(tx));
      let changed = 0;
      for (const r of rows) {
        try {
          const conn = await db.withTenant(r.org_id, (tx) => repo.connection(tx, r.org_id, r.id));
          if (!conn) continue;
          const provider = await providerOf(conn.provider_id);
          const outcome = await check(r.org_id, r.id, provider, 'system:vault.recheck');
          if (outcome.status === 'error' || outcome.status === 'unchecked') continue;
          const next: ConnectionStatus =
            outcome.status === 'valid' ? 'valid' : ['valid', 'revoked'].includes(conn.status) ? 'revoked' : 'invalid';
          const moved = await db.withTenant(r.org_id, async (tx) => {
            const now = clock.now();
            const from = { status: conn.status, fingerprint: conn.fingerprint };
            if (next === conn.status) {
              await tx
                .updateTable('vault_connections')
                .set({ checked_at: now })
                .where('org_id', '=', r.org_id)
                .where('id', '=', r.id)
                .execute();
              return false;
            }
            if (!(await repo.moveStatus(tx, r.org_id, r.id, from, { status: next, detail: outcome.detail, at: now })))
              return false;
            await audit(tx, r.org_id, 'connection.status_changed', 'system:vault.recheck', r.id, {
              from: conn.status,
              to: next,
            });
            return true;
          });
          if (moved) {
            changed++;
            await notifyOwners(r.org_id, conn, next);
          }
        } catch (err) {
          deps.logger.warn({ err, connection: r.id }, 'connection re-check failed');
        }
      }
      return { checked: rows.length, changed };
    },
  };
}

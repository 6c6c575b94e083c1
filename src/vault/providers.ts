import { isIP } from 'node:net';
import type { Selectable } from 'kysely';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { VaultAuthStyle, VaultProvidersTable } from '../platform/db/tables.js';
import { notFound } from '../platform/errors.js';
import type { FieldError } from '../platform/errors.js';
import { outboundProblem } from '../platform/outbound.js';
import type { RequestContext } from '../platform/request-context.js';
import { vaultError } from './errors.js';
import { providerSecretContext } from './sealing.js';

export type ProviderRow = Selectable<VaultProvidersTable>;

/** What the operator sees of a provider: everything but the OAuth client secret (only whether one is set). */
export interface ProviderView {
  id: string;
  name: string;
  kind: 'api_key' | 'oauth';
  allowedHosts: string[];
  authStyle: VaultAuthStyle;
  authName: string | null;
  validation: { method: 'GET' | 'HEAD' | 'POST'; path: string } | null;
  oauth: {
    authorizationEndpoint: string;
    tokenEndpoint: string;
    revocationEndpoint: string | null;
    clientId: string;
    hasClientSecret: boolean;
    scopes: string | null;
  } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProviderInput {
  id: string;
  name: string;
  kind: 'api_key' | 'oauth';
  allowedHosts: string[];
  authStyle: VaultAuthStyle;
  authName?: string;
  validation?: { method: 'GET' | 'HEAD' | 'POST'; path: string };
  oauth?: {
    authorizationEndpoint: string;
    tokenEndpoint: string;
    revocationEndpoint?: string;
    clientId: string;
    /** Omitted on a change: the secret kept is left as it is. */
    clientSecret?: string;
    scopes?: string;
  };
}

export const providerView = (r: ProviderRow): ProviderView => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  allowedHosts: r.allowed_hosts,
  authStyle: r.auth_style,
  authName: r.auth_name,
  validation:
    r.validation_method && r.validation_path ? { method: r.validation_method, path: r.validation_path } : null,
  oauth:
    r.kind === 'oauth'
      ? {
          authorizationEndpoint: r.oauth_authorization_endpoint ?? '',
          tokenEndpoint: r.oauth_token_endpoint ?? '',
          revocationEndpoint: r.oauth_revocation_endpoint,
          clientId: r.oauth_client_id ?? '',
          hasClientSecret: r.oauth_client_secret_sealed !== null,
          scopes: r.oauth_scopes,
        }
      : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Private, loopback, link-local, CGNAT, multicast and metadata ranges: never a provider's host. */
export function isNonPublicAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  const v6 = ip.toLowerCase();
  return (
    v6 === '::' ||
    v6 === '::1' ||
    /^f[cd]/.test(v6) ||
    /^fe[89ab]/.test(v6) ||
    /^ff/.test(v6) ||
    (v6.startsWith('::ffff:') && isNonPublicAddress(v6.slice(7)))
  );
}

/**
 * Why a host cannot be a provider's host (undefined: it can): an exact name, optionally with a port
 * (`api.example.com`, `api.example.com:8443`); no scheme, path or wildcard, no private address.
 */
export function hostProblem(entry: string, dev: boolean): string | undefined {
  if (entry !== entry.toLowerCase()) return 'must be lower case';
  if (isIP(entry) === 6) return hostNameProblem(entry, dev);
  const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(entry);
  if (!m) return 'must be a bare host name (no scheme, path or *), optionally with a port';
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535 || m[2].startsWith('0')))
    return 'has a port outside 1-65535';
  return hostNameProblem(m[1]!, dev);
}

function hostNameProblem(host: string, dev: boolean): string | undefined {
  if (/[/:@*?#\s[\]]/.test(host) && isIP(host) !== 6) return 'must be a bare host name (no scheme, path or *)';
  if (isIP(host)) {
    const loopback = host === '127.0.0.1' || host === '::1';
    if (loopback && dev) return undefined;
    return isNonPublicAddress(host) ? 'is a private, loopback or link-local address' : undefined;
  }
  if (host === 'localhost') return dev ? undefined : 'is this machine (allowed in dev mode only)';
  if (host.length > 253 || !host.includes('.') || !host.split('.').every((l) => HOST_LABEL.test(l)))
    return 'is not a valid host name';
  if (/\.(local|internal|localhost)$/.test(host)) return 'is a name of the local network';
  return undefined;
}

/** Every rule a provider breaks, field by field. */
export function providerProblems(input: ProviderInput, dev: boolean): FieldError[] {
  const problems: FieldError[] = [];
  const o = input.oauth;
  const texts: Array<[string, string | undefined]> = [
    ['name', input.name],
    ['authName', input.authName],
    ['validationPath', input.validation?.path],
    ['authorizationEndpoint', o?.authorizationEndpoint],
    ['tokenEndpoint', o?.tokenEndpoint],
    ['revocationEndpoint', o?.revocationEndpoint],
    ['clientId', o?.clientId],
    ['scopes', o?.scopes],
  ];
  for (const [field, value] of texts)
    if (value !== undefined && CONTROL.test(value))
      problems.push({ field, message: 'may not contain control characters' });
  if (!input.name) problems.push({ field: 'name', message: 'is required' });
  if (!PROVIDER_ID.test(input.id))
    problems.push({ field: 'id', message: 'lower-case letters, digits and dashes, at most 40' });
  if (input.allowedHosts.length < 1 || input.allowedHosts.length > 20)
    problems.push({ field: 'allowedHosts', message: 'give 1 to 20 hosts' });
  if (new Set(input.allowedHosts).size !== input.allowedHosts.length)
    problems.push({ field: 'allowedHosts', message: 'a host is listed twice' });
  for (const host of input.allowedHosts) {
    const why = hostProblem(host, dev);
    if (why) problems.push({ field: 'allowedHosts', message: `${host.slice(0, 80)} ${why}` });
  }
  const named = input.authStyle === 'header' || input.authStyle === 'query';
  if (named && !input.authName) problems.push({ field: 'authName', message: 'name the header or query parameter' });
  if (input.authStyle === 'header' && input.authName && !/^[A-Za-z0-9-]{1,100}$/.test(input.authName))
    problems.push({ field: 'authName', message: 'a header name: letters, digits and dashes' });
  if (input.authStyle === 'header' && input.authName && /^(host|cookie|content-length)$/i.test(input.authName))
    problems.push({ field: 'authName', message: 'cannot carry a credential' });
  if (input.authStyle === 'query' && input.authName && !/^[A-Za-z0-9_.-]{1,100}$/.test(input.authName))
    problems.push({ field: 'authName', message: 'a query parameter name: letters, digits, _ . -' });
  if (input.validation && !/^\/[^\s#]{0,499}$/.test(input.validation.path))
    problems.push({ field: 'validationPath', message: "a path starting with '/', no spaces" });
  if (input.kind === 'oauth') {
    if (input.authStyle !== 'bearer') problems.push({ field: 'authStyle', message: 'OAuth tokens are sent as bearer' });
    if (!o) problems.push({ field: 'oauth', message: 'an OAuth provider needs its endpoints and client id' });
    else {
      const endpoints = [
        ['authorizationEndpoint', o.authorizationEndpoint],
        ['tokenEndpoint', o.tokenEndpoint],
        ['revocationEndpoint', o.revocationEndpoint],
      ] as const;
      for (const [field, url] of endpoints) {
        if (url === undefined) continue;
        const why = outboundProblem(url, { dev });
        if (why) problems.push({ field, message: `${why}` });
      }
      if (!o.clientId) problems.push({ field: 'clientId', message: 'is required' });
    }
  } else if (input.oauth) problems.push({ field: 'oauth', message: 'only OAuth providers have OAuth settings' });
  return problems;
}

export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;

export function createProviderRegistry(deps: { db: Tenancy; keyring: Keyring; clock: Clock; dev: boolean }) {
  const { db, clock } = deps;
  // An id that cannot exist is not looked up (a NUL would not even reach the database as text).
  const row = async (tx: Tx, id: string) =>
    PROVIDER_ID.test(id)
      ? tx.selectFrom('vault_providers').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;

  return {
    list: (): Promise<ProviderView[]> =>
      db.withSystem(async (tx) =>
        (await tx.selectFrom('vault_providers').selectAll().orderBy('name').execute()).map(providerView),
      ),

    async get(id: string): Promise<ProviderView> {
      const r = await db.withSystem((tx) => row(tx, id));
      if (!r) throw notFound('That provider');
      return providerView(r);
    },

    /** The row itself, for the vault's own use (the sealed client secret stays sealed). */
    row: (id: string) => db.withSystem((tx) => row(tx, id)),

    /** Adds the provider, or changes it when the id exists. Audited in the system stream. */
    async save(input: ProviderInput, actor: string, context?: RequestContext): Promise<ProviderView> {
      const problems = providerProblems(input, deps.dev);
      if (problems.length) throw vaultError('provider_invalid', { fields: problems });
      const now = clock.now();
      return db.withSystem(async (tx) => {
        const before = await row(tx, input.id);
        const o = input.oauth;
        const secret =
          o?.clientSecret !== undefined && o.clientSecret !== ''
            ? seal(deps.keyring, o.clientSecret, providerSecretContext(input.id))
            : input.kind === 'oauth'
              ? (before?.oauth_client_secret_sealed ?? null)
              : null;
        const values = {
          name: input.name,
          kind: input.kind,
          allowed_hosts: input.allowedHosts,
          auth_style: input.authStyle,
          auth_name: input.authStyle === 'header' || input.authStyle === 'query' ? (input.authName ?? null) : null,
          validation_method: input.validation?.method ?? null,
          validation_path: input.validation?.path ?? null,
          oauth_authorization_endpoint: o?.authorizationEndpoint ?? null,
          oauth_token_endpoint: o?.tokenEndpoint ?? null,
          oauth_revocation_endpoint: o?.revocationEndpoint ?? null,
          oauth_client_id: o?.clientId ?? null,
          oauth_client_secret_sealed: secret,
          oauth_scopes: o?.scopes ?? null,
          updated_at: now,
        };
        if (before) {
          if (before.kind !== input.kind) {
            const used = await tx
              .selectFrom('vault_connections')
              .select('id')
              .where('provider_id', '=', input.id)
              .executeTakeFirst();
            if (used)
              throw vaultError('provider_invalid', {
                fields: [{ field: 'kind', message: 'connections use this provider: its kind cannot change' }],
              });
          }
          await tx.updateTable('vault_providers').set(values).where('id', '=', input.id).execute();
        } else {
          // Another request made it meanwhile (a PUT is create-or-change): this one changes it.
          const made = await tx
            .insertInto('vault_providers')
            .values({ id: input.id, ...values, created_at: now })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!made) await tx.updateTable('vault_providers').set(values).where('id', '=', input.id).execute();
        }
        const { clientSecret: _hidden, ...oauthShown } = o ?? {};
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'vault.provider_saved',
            actor,
            target: `vault_provider:${input.id}`,
            context,
            payload: {
              created: !before,
              name: input.name,
              kind: input.kind,
              allowedHosts: input.allowedHosts,
              authStyle: input.authStyle,
              ...(o ? { oauth: { ...oauthShown, clientSecretChanged: Boolean(o.clientSecret) } } : {}),
            },
          },
          clock,
        );
        return providerView((await row(tx, input.id))!);
      });
    },

    /** Refused while any organization's connection uses it. */
    async remove(id: string, actor: string, context?: RequestContext): Promise<void> {
      await db.withSystem(async (tx) => {
        const r = await row(tx, id);
        if (!r) throw notFound('That provider');
        const used = await tx
          .selectFrom('vault_connections')
          .select('id')
          .where('provider_id', '=', id)
          .executeTakeFirst();
        if (used) throw vaultError('provider_in_use');
        await tx.deleteFrom('vault_providers').where('id', '=', id).execute();
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'vault.provider_removed',
            actor,
            target: `vault_provider:${id}`,
            context,
            payload: { name: r.name },
          },
          clock,
        );
      });
    },
  };
}

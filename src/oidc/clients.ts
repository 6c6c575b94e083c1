import { createHmac } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import type { Clock } from '../platform/clock.js';
import { hashToken, randomToken, tokenMatches } from '../platform/crypto/tokens.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import { oidcError } from './errors.js';
import * as repo from './repository.js';

/** What the operator registers for a product (A10). */
export interface ClientInput {
  clientId: string;
  name: string;
  /** Confidential clients get a secret (client_secret_basic); public ones use PKCE alone. */
  confidential: boolean;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string;
  /** First-party products skip the consent page. */
  firstParty: boolean;
}

export interface ClientView {
  clientId: string;
  name: string;
  confidential: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  firstParty: boolean;
  createdAt: Date;
}

export interface ClientRegistry {
  /**
   * Registers a client; the secret (confidential clients) is in the answer and nowhere else.
   * `audit` runs in the same transaction (the caller writes its audit event there).
   */
  add(
    input: ClientInput,
    audit?: (tx: Tx, client: ClientView) => Promise<void>,
  ): Promise<{ client: ClientView; secret?: string }>;
  list(): Promise<ClientView[]>;
  get(clientId: string): Promise<ClientView | undefined>;
  /** Removes the client and everything the provider holds for it (its tokens stop working). */
  remove(clientId: string, audit?: (tx: Tx) => Promise<void>): Promise<boolean>;
  /** Whether some client registered exactly this back-channel logout URI. */
  isBackchannelUri(uri: string): Promise<boolean>;
  /** oidc-provider's view of a client, for its adapter. */
  metadata(clientId: string): Promise<AdapterPayload | undefined>;
  /**
   * The Authorization header oidc-provider should see for a presented one: the registered secret is
   * checked here against its hash, and a valid one becomes the stand-in secret the provider was given.
   */
  translateBasicAuth(header: string | undefined): Promise<string | undefined>;
  /** Whether `secret` is the registered secret of this confidential client (checked against its hash). */
  verifySecret(clientId: string, secret: string): Promise<boolean>;
}

const CLIENT_ID = /^[A-Za-z0-9._-]{3,64}$/;

/**
 * Validates a redirect address the way the provider will compare it: exactly. HTTPS, or http on a
 * loopback host (RFC 8252 §7.3, products in development); no fragment; no wildcard.
 */
function checkUri(uri: string, field: string, dev: boolean): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw oidcError('invalid_client_metadata', { message: `${field}: "${uri}" is not an absolute URL.` });
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (loopback || dev)))
    throw oidcError('invalid_client_metadata', { message: `${field}: "${uri}" must use https.` });
  if (url.hash || uri.includes('*'))
    throw oidcError('invalid_client_metadata', { message: `${field}: "${uri}" may have no fragment or wildcard.` });
  return uri;
}

export function createClientRegistry(deps: {
  db: Tenancy;
  clock: Clock;
  secretKey: Buffer;
  dev: boolean;
}): ClientRegistry {
  const { db } = deps;
  // The secret oidc-provider compares against: never the real one (only its hash is stored), and
  // useless outside this deployment.
  const standIn = (row: repo.ClientRow) =>
    createHmac('sha256', deps.secretKey).update(`${row.client_id}\0${row.secret_hash}`).digest('base64url');

  const view = (row: repo.ClientRow): ClientView => ({
    clientId: row.client_id,
    name: row.name,
    confidential: row.secret_hash !== null,
    redirectUris: row.redirect_uris,
    postLogoutRedirectUris: row.post_logout_redirect_uris,
    backchannelLogoutUri: row.backchannel_logout_uri,
    firstParty: row.first_party,
    createdAt: row.created_at,
  });

  return {
    async add(input, audit) {
      if (!CLIENT_ID.test(input.clientId))
        throw oidcError('invalid_client_metadata', {
          message: 'The client id must be 3 to 64 letters, digits, dots, dashes or underscores.',
        });
      const name = input.name.normalize('NFC').trim();
      if (name.length < 1 || name.length > 100)
        throw oidcError('invalid_client_metadata', { message: 'The name must be 1 to 100 characters.' });
      if (input.redirectUris.length < 1 || input.redirectUris.length > 20)
        throw oidcError('invalid_client_metadata', { message: 'Give 1 to 20 redirect URIs.' });
      const redirectUris = input.redirectUris.map((u) => checkUri(u, 'redirect URI', deps.dev));
      const postLogout = (input.postLogoutRedirectUris ?? []).map((u) => checkUri(u, 'post-logout URI', deps.dev));
      const backchannel = input.backchannelLogoutUri
        ? checkUri(input.backchannelLogoutUri, 'back-channel logout URI', deps.dev)
        : null;
      const secret = input.confidential ? randomToken() : undefined;
      const row: repo.ClientRow = {
        client_id: input.clientId,
        name,
        secret_hash: secret ? hashToken(secret) : null,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogout,
        backchannel_logout_uri: backchannel,
        first_party: input.firstParty,
        created_at: deps.clock.now(),
      };
      await db.withSystem(async (tx) => {
        if (await repo.findClient(tx, row.client_id))
          throw oidcError('client_exists', { message: `A client "${row.client_id}" is already registered.` });
        await repo.insertClient(tx, row);
        await audit?.(tx, view(row));
      });
      return { client: view(row), secret };
    },

    list: async () => (await db.withSystem((tx) => repo.listClients(tx))).map(view),

    async get(clientId) {
      // An id of another shape is no client (and may hold what the database refuses, like NUL).
      if (!CLIENT_ID.test(clientId)) return undefined;
      const row = await db.withSystem((tx) => repo.findClient(tx, clientId));
      return row ? view(row) : undefined;
    },

    remove: async (clientId, audit) =>
      CLIENT_ID.test(clientId) &&
      db.withSystem(async (tx) => {
        const removed = await repo.deleteClient(tx, clientId);
        if (removed) await audit?.(tx);
        return removed;
      }),

    isBackchannelUri: async (uri) =>
      (await db.withSystem((tx) => repo.listClients(tx))).some((c) => c.backchannel_logout_uri === uri),

    async metadata(clientId) {
      if (!CLIENT_ID.test(clientId)) return undefined;
      const row = await db.withSystem((tx) => repo.findClient(tx, clientId));
      if (!row) return undefined;
      return {
        client_id: row.client_id,
        client_name: row.name,
        ...(row.secret_hash
          ? { client_secret: standIn(row), token_endpoint_auth_method: 'client_secret_basic' }
          : { token_endpoint_auth_method: 'none' }),
        redirect_uris: row.redirect_uris,
        post_logout_redirect_uris: row.post_logout_redirect_uris,
        ...(row.backchannel_logout_uri
          ? { backchannel_logout_uri: row.backchannel_logout_uri, backchannel_logout_session_required: true }
          : {}),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
        first_party: row.first_party,
      };
    },

    async translateBasicAuth(header) {
      const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header ?? '');
      if (!m) return header;
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 1) return header;
      let clientId: string;
      let secret: string;
      try {
        // RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
        clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
        secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      } catch {
        return header;
      }
      const row = CLIENT_ID.test(clientId) ? await db.withSystem((tx) => repo.findClient(tx, clientId)) : undefined;
      const valid = row?.secret_hash ? tokenMatches(secret, row.secret_hash) : false;
      // A wrong secret becomes a random one, so the provider refuses it whatever was presented.
      const forward = valid && row ? standIn(row) : randomToken();
      return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${forward}`).toString('base64')}`;
    },

    async verifySecret(clientId, secret) {
      const row = CLIENT_ID.test(clientId) ? await db.withSystem((tx) => repo.findClient(tx, clientId)) : undefined;
      return row?.secret_hash ? tokenMatches(secret, row.secret_hash) : false;
    },
  };
}

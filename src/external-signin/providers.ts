import { appendAudit, systemStream, userStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { open, seal } from '../platform/crypto/envelope.js';
import type { Keyring } from '../platform/crypto/keyring.js';
import type { Tenancy } from '../platform/db/database.js';
import { externalError } from './errors.js';
import * as repo from './repository.js';

/* A7: the upstream OpenID providers the operator configured. Client secrets are sealed by the keyring. */

export interface UpstreamInput {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface Upstream {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  createdAt: Date;
}

export interface UpstreamRegistry {
  add(input: UpstreamInput): Promise<Upstream>;
  list(): Promise<Upstream[]>;
  get(id: string): Promise<Upstream | undefined>;
  /** The provider with its client secret opened, for the token request. */
  withSecret(id: string): Promise<(Upstream & { clientSecret: string }) | undefined>;
  /** Removes a provider; every link to it goes too. How many accounts were linked, or undefined when none such. */
  remove(id: string): Promise<number | undefined>;
}

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const upstreamSecretContext = (id: string) => ({ purpose: 'upstream client secret', provider: id });

/** Issuers are https; plain http only on this machine, and only in dev mode. */
export function issuerProblem(issuer: string, dev: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'the issuer must be a URL';
  }
  if (url.search || url.hash || url.username || url.password) return 'the issuer has no query, fragment or login';
  if (url.protocol === 'https:') return undefined;
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && local && dev) return undefined;
  return 'the issuer must be an https URL (http only on localhost, in dev mode)';
}

const invalid = (message: string) => externalError('upstream_invalid', { message: `Invalid upstream: ${message}.` });

function view(row: { id: string; name: string; issuer: string; client_id: string; created_at: Date }): Upstream {
  return { id: row.id, name: row.name, issuer: row.issuer, clientId: row.client_id, createdAt: row.created_at };
}

export function createUpstreamRegistry(deps: {
  db: Tenancy;
  keyring: Keyring;
  clock: Clock;
  dev: boolean;
}): UpstreamRegistry {
  const { db, keyring, clock } = deps;
  return {
    async add(input) {
      if (!ID.test(input.id)) throw invalid('the id is 1-40 lower-case letters, digits and dashes');
      const name = input.name.trim();
      if (name.length < 1 || name.length > 60) throw invalid('the name is 1-60 characters');
      const issuer = input.issuer.trim();
      const problem = issuerProblem(issuer, deps.dev);
      if (problem) throw invalid(problem);
      if (input.clientId.length < 1 || input.clientId.length > 500) throw invalid('the client id is 1-500 characters');
      if (input.clientSecret.length < 1 || input.clientSecret.length > 2000)
        throw invalid('the client secret is 1-2000 characters');
      return db.withSystem(async (tx) => {
        const now = clock.now();
        const row = {
          id: input.id,
          name,
          issuer,
          client_id: input.clientId,
          client_secret_sealed: seal(keyring, input.clientSecret, upstreamSecretContext(input.id)),
          created_at: now,
        };
        if (!(await repo.insertProviderUnlessTaken(tx, row))) throw externalError('upstream_exists');
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'upstream.added',
            actor: 'operator',
            target: `upstream:${input.id}`,
            payload: { issuer, clientId: input.clientId },
          },
          clock,
        );
        return view(row);
      });
    },
    list: () => db.withSystem(async (tx) => (await repo.listProviders(tx)).map(view)),
    get: (id) =>
      db.withSystem(async (tx) => {
        const row = await repo.findProvider(tx, id);
        return row && view(row);
      }),
    withSecret: (id) =>
      db.withSystem(async (tx) => {
        const row = await repo.findProvider(tx, id);
        if (!row) return undefined;
        return {
          ...view(row),
          clientSecret: open(keyring, row.client_secret_sealed, upstreamSecretContext(id)).toString('utf8'),
        };
      }),
    remove: (id) =>
      db.withSystem(async (tx) => {
        const users = await repo.deleteProvider(tx, id);
        if (!users) return undefined;
        await appendAudit(
          tx,
          { stream: systemStream, action: 'upstream.removed', actor: 'operator', target: `upstream:${id}` },
          clock,
        );
        for (const userId of users) {
          await appendAudit(
            tx,
            {
              stream: userStream(userId),
              action: 'external.identity_unlinked',
              actor: 'operator',
              payload: { provider: id, reason: 'provider_removed' },
            },
            clock,
          );
        }
        return users.length;
      }),
  };
}

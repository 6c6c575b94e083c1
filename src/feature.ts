import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Background } from './platform/background.js';
import type { Clock } from './platform/clock.js';
import type { Keyring } from './platform/crypto/keyring.js';
import type { PasswordHasher } from './platform/crypto/passwords.js';
import type { Database } from './platform/db/database.js';
import type { EventBus } from './platform/events/bus.js';
import type { SealedValues } from './platform/keys/sealed.js';
import type { KeyringSync } from './platform/keys/sync.js';
import { AppError, type ErrorCatalog, OperatorError } from './platform/errors.js';
import type { Limits } from './platform/limits/limiter.js';
import type { DevMailbox, Mailer } from './platform/mail/index.js';
import type { JobRunner } from './platform/jobs/index.js';

/*
 * The feature contract. A feature is one folder whose index.ts exports one Feature; app.ts builds
 * the platform and walks the list in src/features.ts. Adding a feature touches its folder, that
 * list and a migration.
 */

/** What app.ts builds once and hands every feature. */
export interface Platform {
  config: Config;
  db: Database;
  keyring: Keyring;
  /** D3: this instance's live keyring and its sync with the key file and the deployment's decision. */
  keys: KeyringSync;
  mailer: Mailer & { devMailbox?: DevMailbox };
  logger: Logger;
  limits: Limits;
  bus: EventBus;
  clock: Clock;
  hasher: PasswordHasher;
  /** Work that runs after the response; drained when the app closes. */
  background: Background;
  /** Work that runs every so often (checks, probes, deadlines), on demand by its name, and its last runs. */
  schedule: JobRunner;
  /** A 256-bit key for one purpose, derived from the deployment's subkey root (unchanged by rotation). */
  subkey(info: string): Buffer;
  /** Runs when the app closes (subscriptions, timers). */
  onClose(fn: () => Promise<void> | void): void;
  /** Settings tests give a feature in place of its defaults. */
  overrides: Overrides;
}

/** Each feature adds the overrides it reads (declaration merging); all are optional. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each feature's declaration merging
export interface Overrides {}

/**
 * The services features offer each other, by name. Each feature adds its own entries to this
 * interface (declaration merging in its index.ts), so `use('sessions')` is typed.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each feature's declaration merging
export interface Services {}

export interface FeatureContext {
  platform: Platform;
  /** Every feature of the app, in order: for features that gather what others declare. */
  features: readonly Feature[];
  /** A service of a feature earlier in the list; asking for one that is not built yet throws. */
  use<K extends keyof Services>(name: K): Services[K];
  provide<K extends keyof Services>(name: K, service: Services[K]): void;
}

/**
 * Organization permission names: each feature that checks permissions adds its own by declaration
 * merging, next to its definePermissions call (src/orgs/permissions.ts has the registry).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each feature's declaration merging
export interface PermissionNames {}
export type Permission = keyof PermissionNames & string;

/** One entry of a registry a feature contributes to (permissions, audit actions, error codes). */
export interface Described {
  description: string;
}

export interface Feature {
  /** The folder name. */
  name: string;
  /** What the generated docs call it. */
  title: string;
  /** Permissions it adds to the organization role matrix (O1), by name. */
  permissions?: Readonly<Record<string, Described & { roles: readonly string[] }>>;
  /** The audit actions it writes (L1), by name. */
  auditActions?: Readonly<Record<string, Described>>;
  /** The error codes it answers with, each with its one HTTP status (defineErrors). */
  errors?: ErrorCatalog;
  /** Tabs it adds to the pages of one organization. */
  orgTabs?: readonly OrgTab[];
  /** Builds its services from the platform and the services of features before it. */
  setup?(ctx: FeatureContext): void | Promise<void>;
  /** Request hooks every route needs (who is calling): registered on the root, not encapsulated. */
  hooks?(app: FastifyInstance, ctx: FeatureContext): void | Promise<void>;
  /** Its routes, registered as an encapsulated Fastify plugin. */
  routes?(app: FastifyInstance, ctx: FeatureContext): void | Promise<void>;
  /** X8: the live checks of the controls it implements (after setup: they may use its services). */
  trustChecks?(ctx: FeatureContext): readonly TrustCheck[];
  /** Pages it adds to the operator console (/operator), each behind requireOperatorPage. */
  operatorPages?: readonly OperatorPage[];
  /** D3: every value it keeps sealed under the master keyring, so `rampart keys rewrap` finds them all. */
  sealedValues?: readonly SealedValues[];
}

export type { SealedRecord, SealedValues } from './platform/keys/sealed.js';

/**
 * X8: one live check of a control, read from this running instance. A control no check names is
 * shown as "not built"; a check that throws is failing.
 */
export interface TrustCheck {
  /** The control's ID in the catalogue (docs/controls.md), e.g. 'T1'. */
  control: string;
  /** Unique in the app, stable across releases (its history is kept under it): 'tls-floor'. */
  id: string;
  /** What it verifies, said as the promise: "TLS 1.2 is the lowest protocol the listener accepts". */
  title: string;
  run(probe: TrustProbe): Promise<TrustVerdict>;
}

/** `detail`: what was verified (passing), the reason (failing), or what the operator must set (not configured). */
export interface TrustVerdict {
  status: 'passing' | 'failing' | 'not_configured';
  detail: string;
}

/** What a check may do besides reading its feature's services. */
export interface TrustProbe {
  /** A real request to this instance, in process: what a client at the base URL would get. */
  request(
    path: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
}

export interface OperatorPage {
  /** Under /operator, e.g. '/operator/incidents'. */
  path: string;
  label: string;
}

export interface OrgTab {
  /** Appended to /orgs/<id>. */
  path: string;
  label: string;
  /** Shown to members whose role holds this permission. */
  permission: Permission;
}

export const defineFeature = <F extends Feature>(feature: F): F => feature;

export function createFeatureContext(platform: Platform, features: readonly Feature[]): FeatureContext {
  const services = new Map<string, unknown>();
  return {
    platform,
    features,
    use(name) {
      if (!services.has(name)) throw new Error(`feature service "${String(name)}" is used before it is built`);
      return services.get(name) as Services[typeof name];
    },
    provide(name, service) {
      if (services.has(name)) throw new Error(`feature service "${String(name)}" is provided twice`);
      services.set(name, service);
    },
  };
}

/** What a feature's `rampart …` commands get from the CLI: a migrated database and the keyring. */
export interface OperatorContext {
  config: Config;
  db: Database;
  keyring: Keyring;
}
export type WithOperator = (fn: (ctx: OperatorContext) => Promise<void>) => Promise<void>;
/** The CLI's wrapper of a command's action: problems the operator fixes become one plain line, exit 1. */
export type CommandWrap = <A extends unknown[]>(action: (...args: A) => unknown) => (...args: A) => Promise<void>;

/** A feature's refusal (a bad URI, a taken name) is the operator's to fix: said as one plain line. */
export async function asOperator<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AppError) {
      const fields = err.fields?.map((f) => `${f.field}: ${f.message}`).join('; ');
      throw new OperatorError(fields ? `${err.message} (${fields})` : err.message);
    }
    throw err;
  }
}

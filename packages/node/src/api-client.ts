import type { RampartErrorCode, RampartPaths } from './api-types.js';

/** Rampart's session cookie: a person's session, as the browser holds it. */
export const SESSION_COOKIE = '__Host-rampart_session';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type RampartPath = keyof RampartPaths;
/** The paths that have an operation for `M`. */
export type PathsFor<M extends HttpMethod> = {
  [P in RampartPath]: M extends keyof RampartPaths[P] ? P : never;
}[RampartPath];
export type RampartOperation<M extends HttpMethod, P extends PathsFor<M>> = RampartPaths[P][M & keyof RampartPaths[P]];

/** `params` (the path's `{name}`s), `query` and `body`, each present and required as the operation declares. */
export type RequestInput<M extends HttpMethod, P extends PathsFor<M>> = Pick<
  RampartOperation<M, P>,
  Extract<keyof RampartOperation<M, P>, 'params' | 'query' | 'body'>
>;
type Responses<M extends HttpMethod, P extends PathsFor<M>> =
  RampartOperation<M, P> extends { responses: infer R } ? R : never;
/** The declared answers of an operation: `status` tells them apart. */
export type RampartResponse<M extends HttpMethod, P extends PathsFor<M>> = {
  [S in keyof Responses<M, P>]: { status: S; body: Responses<M, P>[S]; headers: Headers };
}[keyof Responses<M, P>];
/** The body of a successful answer (`undefined` for 204). */
export type ResponseBody<M extends HttpMethod, P extends PathsFor<M>> = RampartResponse<M, P>['body'];
type InputArgs<I> = Record<string, never> extends I ? [input?: I & RequestOptions] : [input: I & RequestOptions];

export interface RequestOptions {
  /** Extra headers (for example `X-Request-Id` to correlate with Rampart's logs). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * How the client authenticates:
 * - `apiKey`: an organization API key (`rmp_live_...`), sent as `Authorization: Bearer` (O6). For a backend acting
 *   on one organization, limited to the key's scopes.
 * - `sessionToken`: a person's Rampart session (the value of the `__Host-rampart_session` cookie), sent as that
 *   cookie; the client fetches and sends the CSRF token that state-changing requests of a session need, and follows
 *   the session's rotation.
 * - `accessToken`: a Rampart access token the product holds for a signed-in person, sent as `Authorization: Bearer`.
 *   Rampart's own API takes it where the person's consent names it: the vault's connections with scope `connections`
 *   (docs/vault.md), with what the person's role allows in the token's organization now.
 * Without `auth` the client is anonymous until a sign-in through it sets a session (it keeps the cookie it is given).
 */
export type RampartClientAuth = { apiKey: string } | { sessionToken: string } | { accessToken: string };

/** The subset of `fetch` the client calls; the global `fetch` fits. */
export type ApiFetch = (
  url: string,
  init: { method: string; headers: Headers; body?: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<Response>;

export interface RampartClientOptions {
  /** Where Rampart answers, e.g. `https://auth.example.com` (a path prefix is kept). */
  baseUrl: string;
  auth?: RampartClientAuth;
  fetch?: ApiFetch;
  /** Per request, default 10 000. */
  timeoutMs?: number;
  /** Sent as User-Agent (Rampart shows it in the session list and sign-in history). */
  userAgent?: string;
}

/** A field-level problem of a 400 `invalid_request`. */
export interface RampartFieldError {
  field: string;
  message: string;
}

/**
 * Rampart refused a request: its error body `{ error: { code, message, requestId, fields? } }`. `code` is stable
 * (docs/errors.md) and one code has one status; `requestId` finds the request in Rampart's logs. An answer that is not
 * Rampart's JSON error (a proxy's page) has the code `unexpected_response`.
 */
export class RampartApiError extends Error {
  override readonly name = 'RampartApiError';
  readonly status: number;
  readonly code: RampartErrorCode | 'unexpected_response';
  readonly requestId: string | undefined;
  readonly fields: RampartFieldError[] | undefined;
  /** From Retry-After on a 429 or 503. */
  readonly retryAfterSec: number | undefined;

  constructor(init: {
    status: number;
    code: RampartErrorCode | 'unexpected_response';
    message: string;
    requestId?: string;
    fields?: RampartFieldError[];
    retryAfterSec?: number;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.fields = init.fields;
    this.retryAfterSec = init.retryAfterSec;
  }
}

export function isRampartApiError(value: unknown): value is RampartApiError {
  return value instanceof RampartApiError;
}

export interface RampartClient {
  /** Calls one operation; the answer's body, typed by the OpenAPI document. Throws `RampartApiError`. */
  request<M extends HttpMethod, P extends PathsFor<M>>(
    method: M,
    path: P,
    ...input: InputArgs<RequestInput<M, P>>
  ): Promise<ResponseBody<M, P>>;
  /** The same, with the status (to tell a 200 from a 202) and the headers. */
  send<M extends HttpMethod, P extends PathsFor<M>>(
    method: M,
    path: P,
    ...input: InputArgs<RequestInput<M, P>>
  ): Promise<RampartResponse<M, P>>;
  /** The session the client currently holds (after a sign-in or a rotation), if it authenticates as a person. */
  readonly sessionToken: string | undefined;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
type Scalar = string | number | boolean;

function expand(template: string, params: Record<string, Scalar> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`path parameter ${name} is missing`);
    return encodeURIComponent(String(value));
  });
}

function queryString(query: Record<string, Scalar | Scalar[] | undefined> | undefined): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const v of [value].flat()) search.append(name, String(v));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** The session cookie a response sets (a sign-in, a rotation), or `null` when it clears it. */
function sessionCookieOf(headers: Headers): string | null | undefined {
  const cookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [headers.get('set-cookie')];
  for (const c of cookies) {
    if (!c?.startsWith(`${SESSION_COOKIE}=`)) continue;
    const [pair, ...attributes] = c.split(';');
    const value = pair!.slice(SESSION_COOKIE.length + 1).trim();
    const expired = attributes.some((a) => {
      const [k, v] = a.trim().split('=');
      const name = k?.toLowerCase();
      return (name === 'max-age' && Number(v) <= 0) || (name === 'expires' && Date.parse(v ?? '') <= Date.now());
    });
    return value === '' || expired ? null : value;
  }
  return undefined;
}

async function errorOf(res: Response): Promise<RampartApiError> {
  const retry = Number(res.headers.get('retry-after'));
  const retryAfterSec = Number.isFinite(retry) && res.headers.has('retry-after') ? retry : undefined;
  const text = await res.text();
  let error: { code?: unknown; message?: unknown; requestId?: unknown; fields?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  if (!error || typeof error.code !== 'string') {
    return new RampartApiError({
      status: res.status,
      code: 'unexpected_response',
      message: `Rampart answered ${res.status} without its error body`,
      requestId: res.headers.get('x-request-id') ?? undefined,
      retryAfterSec,
    });
  }
  return new RampartApiError({
    status: res.status,
    code: error.code as RampartErrorCode,
    message: typeof error.message === 'string' ? error.message : error.code,
    requestId: typeof error.requestId === 'string' ? error.requestId : (res.headers.get('x-request-id') ?? undefined),
    fields: Array.isArray(error.fields) ? (error.fields as RampartFieldError[]) : undefined,
    retryAfterSec,
  });
}

/**
 * A typed client for Rampart's JSON API (`/api/v1/...`), its operations and their types generated from Rampart's
 * OpenAPI document (`src/api-types.ts`).
 *
 * ```ts
 * const rampart = createRampartClient({ baseUrl: 'https://auth.example.com', auth: { apiKey } });
 * const { members } = await rampart.request('GET', '/api/v1/orgs/{orgId}/members', { params: { orgId } });
 * ```
 */
export function createRampartClient(options: RampartClientOptions): RampartClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch: ApiFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Both are bearer credentials: neither needs a cookie or a CSRF token.
  const apiKey =
    options.auth && 'apiKey' in options.auth
      ? options.auth.apiKey
      : options.auth && 'accessToken' in options.auth
        ? options.auth.accessToken
        : undefined;
  let session = options.auth && 'sessionToken' in options.auth ? options.auth.sessionToken : undefined;
  let csrf: { session: string; token: string } | undefined;

  async function raw(
    method: string,
    path: string,
    body: string | undefined,
    extra: RequestOptions,
    csrfToken?: string,
  ): Promise<Response> {
    const headers = new Headers(extra.headers);
    headers.set('accept', 'application/json');
    if (body !== undefined) headers.set('content-type', 'application/json');
    if (options.userAgent) headers.set('user-agent', options.userAgent);
    if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
    else if (session) headers.set('cookie', `${SESSION_COOKIE}=${session}`);
    if (csrfToken) headers.set('x-csrf-token', csrfToken);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = extra.signal ? AbortSignal.any([extra.signal, timeout]) : timeout;
    const res = await doFetch(`${base}${path}`, { method, headers, body, redirect: 'manual', signal });
    const cookie = sessionCookieOf(res.headers);
    if (cookie !== undefined && !apiKey) session = cookie ?? undefined;
    return res;
  }

  /** The CSRF token bound to the current session (fetched once per session). */
  async function csrfFor(current: string, extra: RequestOptions): Promise<string> {
    if (csrf?.session === current) return csrf.token;
    const res = await raw('GET', '/api/v1/csrf-token', undefined, { signal: extra.signal });
    if (!res.ok) throw await errorOf(res);
    const token = ((await res.json()) as { token: string }).token;
    // The session may have rotated on that very request: the token is bound to the one it was issued for.
    csrf = { session: session ?? current, token };
    return token;
  }

  async function send(method: string, template: string, input: Record<string, unknown> = {}) {
    const { params, query, body, headers, signal } = input as {
      params?: Record<string, Scalar>;
      query?: Record<string, Scalar | Scalar[] | undefined>;
      body?: unknown;
    } & RequestOptions;
    const path = `${expand(template, params)}${queryString(query)}`;
    const json = body === undefined ? undefined : JSON.stringify(body);
    const extra = { headers, signal };
    // A session's state-changing requests carry its CSRF token; an API key has no ambient authority and needs none.
    const needsCsrf = () => UNSAFE.has(method) && !apiKey && session !== undefined;
    let res = await raw(method, path, json, extra, needsCsrf() ? await csrfFor(session!, extra) : undefined);
    if (res.status === 403 && needsCsrf()) {
      const refused = await errorOf(res.clone());
      if (refused.code !== 'csrf_failed') throw refused;
      csrf = undefined; // the session rotated since the token was fetched: once more with a fresh one
      res = await raw(method, path, json, extra, await csrfFor(session!, extra));
    }
    if (res.status >= 300) throw await errorOf(res);
    let parsed: unknown;
    if (res.status === 204) parsed = undefined;
    else if (/^application\/([a-z.+-]+\+)?json/.test(res.headers.get('content-type') ?? '')) parsed = await res.json();
    else parsed = await res.text();
    return { status: res.status, body: parsed, headers: res.headers };
  }

  return {
    request: async (method, path, ...input) =>
      (await send(method, path, input[0] as Record<string, unknown>)).body as never,
    send: async (method, path, ...input) => (await send(method, path, input[0] as Record<string, unknown>)) as never,
    get sessionToken() {
      return session;
    },
  };
}

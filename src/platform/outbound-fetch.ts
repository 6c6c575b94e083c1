import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type tls from 'node:tls';
import { addressProblem, isLoopbackAddress } from './outbound-address.js';
import {
  type OutboundResponse,
  type Outgoing,
  secureContextFor,
  send,
  type Target,
  timedOut,
} from './outbound-connection.js';
import { OutboundError } from './outbound-error.js';
import { outboundProblem } from './outbound.js';

/**
 * T3 and D1: the only fetch a decrypted credential travels through. It goes to the provider's named hosts
 * over verified HTTPS, to an address vetted before connecting and pinned for the connection (a second DNS
 * answer cannot move it: DNS rebinding), never across hosts on a redirect, within a time and size budget.
 * Its errors name the host and the reason only: a key may sit in the query string, a header or the body.
 */

export { addressProblem } from './outbound-address.js';
export type { OutboundResponse } from './outbound-connection.js';
export { OutboundError, type OutboundErrorCode } from './outbound-error.js';

export interface OutboundPolicy {
  /** Exact host names (lowercase) the request may go to; a port other than 443 must be named: 'api.x.com:8443'. */
  allowedHosts: readonly string[];
  /** Dev mode: loopback (127.0.0.0/8, ::1, localhost) is allowed, over https or http. Never private ranges. */
  dev: boolean;
  /** The whole request, body and redirects included; default 10 000. */
  timeoutMs?: number;
  /** Default 5 MiB; over it the request is aborted. */
  maxResponseBytes?: number;
  /** Default 3; each must stay on the same host (and scheme), else refused. */
  maxRedirects?: number;
  /** Extra trusted CAs (private CAs, tests); the system CAs still apply. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Name resolution; default node:dns lookup with all: true. Injected by tests (a name resolving to 10.x). */
  resolve?: (host: string) => Promise<readonly { address: string; family: 4 | 6 }[]>;
}

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export type OutboundFetch = (url: string, init?: OutboundRequest) => Promise<OutboundResponse>;

const METHOD = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

interface Limits {
  dev: boolean;
  allowed: ReadonlySet<string>;
  maxResponseBytes: number;
  resolve: NonNullable<OutboundPolicy['resolve']>;
  secureContext: tls.SecureContext;
}

export function createOutboundFetch(policy: OutboundPolicy): OutboundFetch {
  const limits: Limits = {
    dev: policy.dev,
    allowed: new Set(policy.allowedHosts.map(hostKey)),
    maxResponseBytes: policy.maxResponseBytes ?? 5 * 1024 * 1024,
    resolve: policy.resolve ?? defaultResolve,
    secureContext: secureContextFor(policy.ca),
  };
  const timeoutMs = policy.timeoutMs ?? 10_000;
  const maxRedirects = policy.maxRedirects ?? 3;

  return async (url, init = {}) => {
    const deadline = performance.now() + timeoutMs;
    let target = targetOf(url, limits);
    let outgoing = outgoingOf(init, target.host);
    for (let redirects = 0; ; redirects++) {
      const addresses = await vetted(target, limits, deadline);
      const answer = await send(target, addresses, outgoing, limits, deadline);
      if ('response' in answer) return answer.response;
      if (redirects >= maxRedirects) {
        throw new OutboundError('too_many_redirects', target.host, `more than ${maxRedirects} redirects`);
      }
      target = redirectTarget(target, answer.redirect, limits);
      outgoing = afterRedirect(outgoing, answer);
    }
  };
}

/** 'API.x.com:443' and 'api.x.com' name one host; '[::ffff:127.0.0.1]' is written as URLs write it. */
function hostKey(entry: string): string {
  if (/[/?#@\\\s]/.test(entry)) return entry; // not a host: matches nothing
  if (isIP(entry) === 6) return `[${entry.toLowerCase()}]`;
  try {
    return new URL(`https://${entry.toLowerCase()}`).host;
  } catch {
    return entry.toLowerCase();
  }
}

async function defaultResolve(host: string) {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? (6 as const) : (4 as const) }));
}

/** The host of a URL as policies name it (for building allowedHosts from endpoints). */
export const policyHostOf = (url: string): string => hostOf(new URL(url)).host;

/** As policies name it: 'api.x.com', or 'api.x.com:8443' for any port but 443. */
function hostOf(url: URL): { host: string; port: number } {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: port === 443 ? url.hostname : `${url.hostname}:${port}`, port };
}

function targetOf(raw: string, limits: Limits): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundError('invalid_url', undefined, 'the URL is not an absolute URL');
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') {
    throw new OutboundError('insecure_scheme', undefined, 'only https (and http to loopback in dev mode) is allowed');
  }
  const { host, port } = hostOf(url);
  const problem = outboundProblem(url.href, { dev: limits.dev });
  if (problem) throw new OutboundError('insecure_scheme', host, `the target ${problem}`);
  if (url.username || url.password) {
    throw new OutboundError('invalid_url', host, 'credentials in the URL are not sent; use a header');
  }
  if (!limits.allowed.has(host)) throw new OutboundError('host_not_allowed', host, 'the host is not allowed');
  return { url, host, name: url.hostname.replace(/^\[|\]$/g, ''), port, secure };
}

function outgoingOf(init: OutboundRequest, host: string): Outgoing {
  const method = (init.method ?? 'GET').toUpperCase();
  if (!METHOD.test(method)) throw new OutboundError('invalid_url', host, 'the method is not supported');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (!TOKEN.test(name) || typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new OutboundError('invalid_url', host, `the request header "${TOKEN.test(name) ? name : '?'}" is invalid`);
    }
    // The connection goes to the vetted host; a caller's Host header may not point it elsewhere.
    if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = value;
  }
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  if (body) headers['content-length'] = String(body.length);
  return { method, headers, body };
}

/** Resolved once per connection; every address must pass, and only these are connected to. */
async function vetted(
  target: Target,
  limits: Limits,
  deadline: number,
): Promise<{ address: string; family: number }[]> {
  const literal = isIP(target.name);
  let addresses: { address: string; family: number }[];
  if (literal) addresses = [{ address: target.name, family: literal }];
  else {
    const found = await within(
      Promise.resolve().then(() => limits.resolve(target.name)),
      deadline,
      target.host,
    ).catch((err: unknown) => {
      if (err instanceof OutboundError) throw err;
      throw new OutboundError('dns_failed', target.host, 'the name did not resolve');
    });
    addresses = found.map((a) => ({ address: a.address, family: isIP(a.address) }));
    if (!addresses.length) throw new OutboundError('dns_failed', target.host, 'the name resolved to no address');
  }
  for (const { address } of addresses) {
    const problem = addressProblem(address, { dev: limits.dev });
    if (problem) {
      throw new OutboundError('blocked_address', target.host, literal ? problem : `the name resolves to ${problem}`);
    }
    if (!target.secure && !isLoopbackAddress(address)) {
      throw new OutboundError('insecure_scheme', target.host, 'plain http goes to loopback only');
    }
  }
  return addresses;
}

function within<T>(work: Promise<T>, deadline: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(host)), Math.max(0, deadline - performance.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function redirectTarget(from: Target, location: string, limits: Limits): Target {
  let next: URL;
  try {
    next = new URL(location, from.url);
  } catch {
    throw new OutboundError('redirect_refused', from.host, 'the redirect target is not a URL');
  }
  if (next.protocol !== from.url.protocol || hostOf(next).host !== from.host) {
    throw new OutboundError('redirect_refused', from.host, 'the redirect goes to another host or scheme');
  }
  return targetOf(next.href, limits);
}

/** 303 (and 301/302 after a POST) continue as a GET without the body, as browsers do; 307/308 keep both. */
function afterRedirect(outgoing: Outgoing, answer: { status: number }): Outgoing {
  const keep = answer.status === 307 || answer.status === 308;
  const asGet = !keep && (answer.status === 303 ? outgoing.method !== 'HEAD' : outgoing.method === 'POST');
  if (!asGet) return outgoing;
  const headers = { ...outgoing.headers };
  delete headers['content-length'];
  delete headers['content-type'];
  return { method: 'GET', headers, body: undefined };
}

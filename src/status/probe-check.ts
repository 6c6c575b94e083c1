import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import https from 'node:https';
import http from 'node:http';
import { isIP } from 'node:net';

/*
 * One check of a probe (T3): https:// with certificate validation (Node's default trust store, or
 * the CA a test gives), plain http:// and loopback targets only in dev mode, a deadline, a cap on
 * the response, and redirects followed only on the same origin.
 */

export interface ProbeCheckOptions {
  dev: boolean;
  /** Trusted in place of the default roots (tests: their own CA). */
  ca?: Buffer;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

export interface ProbeOutcome {
  ok: boolean;
  httpStatus: number | null;
  durationMs: number;
  detail: string;
}

export const PROBE_TIMEOUT_MS = 10_000;
export const PROBE_MAX_BYTES = 64 * 1024;

const isLoopbackAddress = (a: string) => a === '::1' || /^127\./.test(a) || a === '0.0.0.0' || a === '::';
const isLinkLocal = (a: string) => /^169\.254\./.test(a) || /^fe80:/i.test(a);
const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
const isLoopbackName = (h: string) => h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h);

/** Why an address may not be probed, or null when it may (checked when added and before each request). */
export function probeTargetProblem(value: string, dev: boolean): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Give a full address, like https://app.example.com/health.';
  }
  if (url.username || url.password) return 'Leave credentials out of the address.';
  const host = hostOf(url);
  if (url.protocol === 'http:') {
    if (dev && isLoopbackName(host)) return null;
    return 'Plain http:// is refused: give an https:// address (http:// works only to loopback in dev mode).';
  }
  if (url.protocol !== 'https:') return 'Give an https:// address.';
  if (!dev && (isLoopbackName(host) || isLinkLocal(host)))
    return 'Loopback and link-local addresses are probed only in dev mode.';
  return null;
}

type Lookup = NonNullable<https.RequestOptions['lookup']>;

/** Outside dev mode a name that resolves to loopback or link-local is refused too (no reaching in by DNS). */
function guardedLookup(dev: boolean): Lookup {
  return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const bad = addresses.find((a) => isLoopbackAddress(a.address) || isLinkLocal(a.address));
      if (!dev && bad) return callback(new Error(`${hostname} resolves to a loopback or link-local address`));
      const all = (options as { all?: boolean }).all;
      if (all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as Lookup;
}

interface Hop {
  status: number;
  location?: string;
}

function request(url: URL, opts: Required<Omit<ProbeCheckOptions, 'ca'>> & { ca?: Buffer }, deadline: number) {
  return new Promise<Hop>((resolve, reject) => {
    const remaining = Math.max(1, deadline - Date.now());
    const options: https.RequestOptions = {
      method: 'GET',
      headers: { 'user-agent': 'Rampart-status-probe/1', accept: '*/*' },
      timeout: remaining,
      ...(isIP(hostOf(url)) ? {} : { lookup: guardedLookup(opts.dev) }),
    };
    const onResponse = (res: http.IncomingMessage) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > opts.maxBytes) {
          res.destroy();
          reject(new Error(`the response is larger than ${opts.maxBytes} bytes`));
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      res.on('error', reject);
    };
    const req =
      url.protocol === 'https:'
        ? https.request(url, { ...options, rejectUnauthorized: true, ...(opts.ca ? { ca: opts.ca } : {}) }, onResponse)
        : http.request(url, options, onResponse);
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), remaining);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end();
  });
}

const short = (s: string) => (s.length > 300 ? `${s.slice(0, 297)}...` : s);

export async function checkProbe(
  target: string,
  expectedStatus: number,
  options: ProbeCheckOptions,
): Promise<ProbeOutcome> {
  const opts = {
    dev: options.dev,
    ca: options.ca,
    timeoutMs: options.timeoutMs ?? PROBE_TIMEOUT_MS,
    maxBytes: options.maxBytes ?? PROBE_MAX_BYTES,
    maxRedirects: options.maxRedirects ?? 3,
  };
  const started = Date.now();
  const done = (ok: boolean, httpStatus: number | null, detail: string): ProbeOutcome => ({
    ok,
    httpStatus,
    durationMs: Date.now() - started,
    detail: short(detail),
  });
  const deadline = started + opts.timeoutMs;
  let url = new URL(target);
  for (let hop = 0; ; hop++) {
    const problem = probeTargetProblem(url.href, opts.dev);
    if (problem) return done(false, null, `refused: ${problem}`);
    let answer: Hop;
    try {
      answer = await request(url, opts, deadline);
    } catch (err) {
      return done(false, null, err instanceof Error ? err.message : 'the request failed');
    }
    const { status, location } = answer;
    if (status === expectedStatus) return done(true, status, `answered ${status}`);
    if (status >= 300 && status < 400 && location) {
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return done(false, status, `answered ${status} with a bad Location`);
      }
      if (next.origin !== url.origin) return done(false, status, `redirect to another host not followed (${status})`);
      if (hop >= opts.maxRedirects) return done(false, status, 'too many redirects');
      url = next;
      continue;
    }
    return done(false, status, `answered ${status}, expected ${expectedStatus}`);
  }
}

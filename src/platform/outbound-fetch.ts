import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { LookupFunction } from 'node:net';

/*
 * PROVISIONAL stand-in for branch `fetch` (the SSRF-safe fetch): the same API, enough for the vault
 * to be built and tested against. The merge takes branch fetch's file.
 */

export interface OutboundPolicy {
  allowedHosts: readonly string[];
  dev: boolean;
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  ca?: string | Buffer | Array<string | Buffer>;
  resolve?: (host: string) => Promise<string[]>;
}

export interface OutboundResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

export type OutboundFetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
) => Promise<OutboundResponse>;

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createOutboundFetch(policy: OutboundPolicy): OutboundFetch {
  const timeoutMs = policy.timeoutMs ?? 10_000;
  const maxBytes = policy.maxResponseBytes ?? 5 * 1024 * 1024;
  return async (target, init = {}) => {
    const url = new URL(target);
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (!policy.allowedHosts.includes(host)) throw new OutboundError('host_not_allowed', 'host not allowed');
    const loopback = host === 'localhost' || host === '127.0.0.1' || host === '::1';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.dev && loopback))
      throw new OutboundError('insecure_scheme', 'not https');
    const lookup: LookupFunction | undefined = policy.resolve
      ? (hostname, _opts, cb) => {
          policy.resolve!(hostname).then(
            (a) => cb(null, a[0]!, a[0]!.includes(':') ? 6 : 4),
            (e) => cb(e as Error, '', 4),
          );
        }
      : undefined;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<OutboundResponse>((resolve, reject) => {
      const req = send(
        url,
        { method: init.method ?? 'GET', headers: init.headers, ca: policy.ca, lookup, timeout: timeoutMs },
        (res) => {
          if ((res.statusCode ?? 0) >= 300 && (res.statusCode ?? 0) < 400 && res.headers.location) {
            res.destroy();
            reject(new OutboundError('redirect_refused', 'redirect refused'));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              res.destroy();
              reject(new OutboundError('response_too_large', 'response too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({
              url: url.toString(),
              status: res.statusCode ?? 0,
              headers: res.headers,
              body,
              text: () => body.toString('utf8'),
              json: () => JSON.parse(body.toString('utf8')),
            });
          });
          res.on('error', () => reject(new OutboundError('network_error', 'network error')));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        reject(new OutboundError('timeout', 'timed out'));
      });
      req.on('error', (e) => reject(e instanceof OutboundError ? e : new OutboundError('network_error', 'network')));
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
  };
}

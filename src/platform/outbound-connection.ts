import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { OutboundError } from './outbound-error.js';

/* One request over one connection, to addresses already vetted (pinned through `lookup`), over verified TLS. */

export interface OutboundResponse {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text(): string;
  json(): unknown;
}

export interface Target {
  url: URL;
  /** As policies name it: 'api.x.com', or 'api.x.com:8443' for any port but 443. */
  host: string;
  /** For the socket and SNI: without brackets. */
  name: string;
  port: number;
  secure: boolean;
}

export interface Outgoing {
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export type Answer = { redirect: string; status: number } | { response: OutboundResponse };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const contexts = new Map<string, tls.SecureContext>();

/**
 * Node's `ca` replaces the system roots, so extra CAs come with them; that context costs ~50 ms to build, so
 * one is kept per set of extra CAs (the vault makes a fetch per use).
 */
export function secureContextFor(ca: string | Buffer | readonly (string | Buffer)[] | undefined): tls.SecureContext {
  const extra = (ca === undefined ? [] : Array.isArray(ca) ? ca : [ca]) as (string | Buffer)[];
  const key = createHash('sha256')
    .update(extra.map((c) => createHash('sha256').update(c).digest('hex')).join(','))
    .digest('hex');
  let context = contexts.get(key);
  if (!context) {
    context = tls.createSecureContext({
      minVersion: 'TLSv1.2',
      ...(extra.length ? { ca: [...tls.rootCertificates, ...extra] } : {}),
    });
    if (contexts.size >= 32) contexts.delete(contexts.keys().next().value!);
    contexts.set(key, context);
  }
  return context;
}

export const timedOut = (host: string) => new OutboundError('timeout', host, 'no complete answer in time');

export function send(
  target: Target,
  addresses: { address: string; family: number }[],
  outgoing: Outgoing,
  limits: { maxResponseBytes: number; secureContext: tls.SecureContext },
  deadline: number,
): Promise<Answer> {
  const pinned: LookupFunction = (_name, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const literal = isIP(target.name) !== 0;
  const options: https.RequestOptions = {
    host: target.name,
    port: target.port,
    path: `${target.url.pathname}${target.url.search}`,
    method: outgoing.method,
    headers: outgoing.headers,
    agent: false,
    ...(literal ? {} : { lookup: pinned }),
    ...(target.secure
      ? {
          rejectUnauthorized: true,
          secureContext: limits.secureContext,
          ...(literal ? {} : { servername: target.name }),
        }
      : {}),
  };
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    let connected = false;
    let secured = false;
    const settle = (outcome: Answer | OutboundError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome instanceof OutboundError) {
        req.destroy();
        reject(outcome);
      } else resolve(outcome);
    };
    const onResponse = (res: http.IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location) {
        res.destroy();
        return settle({ redirect: location, status });
      }
      const tooLarge = () =>
        new OutboundError('response_too_large', target.host, 'the response is over the size limit');
      if (Number(res.headers['content-length'] ?? 0) > limits.maxResponseBytes) return settle(tooLarge());
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > limits.maxResponseBytes) settle(tooLarge());
        else chunks.push(chunk);
      });
      res.on('end', () => settle({ response: responseOf(target, status, res.headers, Buffer.concat(chunks)) }));
      res.on('error', () => settle(broken(target.host)));
      res.on('close', () => settle(broken(target.host)));
    };
    const req = (target.secure ? https : http).request(options, onResponse);
    const timer = setTimeout(() => settle(timedOut(target.host)), Math.max(0, deadline - performance.now()));
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
      });
      socket.once('secureConnect', () => {
        secured = true;
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => settle(failure(target, err, connected, secured)));
    req.end(outgoing.body);
  });
}

const broken = (host: string) =>
  new OutboundError('connect_failed', host, 'the connection closed before the answer ended');

const TLS_CODE = /CERT|SSL|TLS|DEPTH_ZERO|UNABLE_TO_|EPROTO|HOSTNAME/;

function failure(target: Target, err: NodeJS.ErrnoException, connected: boolean, secured: boolean): OutboundError {
  const code = typeof err.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(err.code) ? err.code : 'unknown';
  if (target.secure && !secured && (connected || TLS_CODE.test(code))) {
    return new OutboundError('tls_failed', target.host, `the TLS handshake or certificate check failed (${code})`);
  }
  return new OutboundError('connect_failed', target.host, `the connection failed (${code})`);
}

function responseOf(target: Target, status: number, raw: http.IncomingHttpHeaders, body: Buffer): OutboundResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    url: target.url.href,
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: () => {
      try {
        return JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        // JSON.parse quotes the text it choked on; the body is the provider's and may echo a key.
        throw new SyntaxError(`the response from ${target.host} is not valid JSON`);
      }
    },
  };
}

import { randomFillSync } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';

export const HSTS = 'max-age=31536000; includeSubDomains';

export const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'camera=()',
  'display-capture=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'payment=()',
  'usb=()',
  'publickey-credentials-get=(self)',
  'publickey-credentials-create=(self)',
].join(', ');

/** A Content-Security-Policy header value, in the layout helmet wrote (`name value value;name value`). */
export function contentSecurityPolicy(directives: Record<string, readonly string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(' '))
    .join(';');
}

/**
 * The policy, built once, in helmet's directive order. A page's nonce goes right after
 * `script-src 'self'`: CSP_BEFORE_NONCE + ` 'nonce-…'` + CSP_AFTER_NONCE.
 */
const CSP_BEFORE_NONCE = "default-src 'none';script-src 'self'";
const CSP_AFTER_NONCE = `;${contentSecurityPolicy({
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
})}`;
/** Responses that are not pages run no script of theirs at all: no nonce, so no script element can run. */
export const CSP = CSP_BEFORE_NONCE + CSP_AFTER_NONCE;

/** The CSP of a page whose script elements carry `nonce`. */
export function cspWithNonce(nonce: string): string {
  return `${CSP_BEFORE_NONCE} 'nonce-${nonce}'${CSP_AFTER_NONCE}`;
}

/**
 * The headers helmet set on every response (same values), plus ours. Lower-case names: Fastify
 * keeps reply headers that way, and HTTP header names are case-insensitive.
 */
const STATIC_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['cross-origin-opener-policy', 'same-origin'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  // Not no-referrer: under it browsers send `Origin: null` on our own form posts, which the CSRF
  // origin check must refuse. same-origin still sends nothing to other sites (tokens in URLs stay here).
  ['referrer-policy', 'same-origin'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'DENY'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
  ['permissions-policy', PERMISSIONS_POLICY],
  ['cache-control', 'no-store'],
];

const NONCE_BYTES = 16;
const POOL_BYTES = 4096;

/**
 * CSP nonces: 16 random bytes each (hex), cut from a 4 KiB buffer filled by the CSPRNG in one call
 * and refilled once every slice has been handed out, so no two responses share one.
 */
export function createNoncePool(fill: (buffer: Buffer) => void = (b) => randomFillSync(b)): () => string {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  return () => {
    if (offset === POOL_BYTES) {
      fill(pool);
      offset = 0;
    }
    const nonce = pool.toString('hex', offset, offset + NONCE_BYTES);
    offset += NONCE_BYTES;
    return nonce;
  };
}

/** The next CSP nonce of this process's pool (for pages answered outside Fastify's reply). */
export const nextNonce = createNoncePool();
const NONCE = Symbol('cspNonce');

declare module 'fastify' {
  interface FastifyReply {
    /**
     * This response's script nonce, drawn the first time a page asks for it; from then on the
     * response's Content-Security-Policy allows script elements that carry it.
     */
    cspNonce(): string;
    [NONCE]: string | undefined;
  }
}

/**
 * The CSP of a page whose forms lead, through redirects, to other sites (a product's sign-in
 * callback): browsers check form-action against every redirect of a form submission. Only the
 * origins of absolute URLs are added, so nothing else can widen the policy.
 */
export function cspWithFormTargets(nonce: string, targets: readonly string[]): string {
  const origins = [...new Set(targets.map((t) => new URL(t).origin))].filter((o) => /^https?:\/\/[^\s;,']+$/.test(o));
  return cspWithNonce(nonce).replace("form-action 'self'", ["form-action 'self'", ...origins].join(' '));
}

/** A page's forms may lead to these sites (see cspWithFormTargets); call before rendering it. */
export function allowFormTargets(reply: FastifyReply, targets: readonly string[]): void {
  reply.header('content-security-policy', cspWithFormTargets(reply.cspNonce(), targets));
}

/** A route's own policy in place of the default one (the API reference page): a route-level onRequest hook. */
export function routePolicy(policy: string): onRequestHookHandler {
  return (_request, reply, done) => {
    reply.header('content-security-policy', policy);
    done();
  };
}

/**
 * R2 headers on every response (errors and 404s included, since they are set on request),
 * HSTS on HTTPS only (T2), and a 308 to HTTPS when the public URL is https but a request
 * arrived over plain HTTP (through a trusted proxy, or straight to the port).
 */
export function securityHeaders(app: FastifyInstance, opts: { baseUrl: string }): void {
  app.decorateReply(NONCE, undefined);
  app.decorateReply('cspNonce', function (this: FastifyReply): string {
    let nonce = this[NONCE];
    if (nonce === undefined) {
      nonce = nextNonce();
      this[NONCE] = nonce;
      this.header('content-security-policy', cspWithNonce(nonce));
    }
    return nonce;
  });

  const httpsOrigin = opts.baseUrl.startsWith('https:') ? new URL(opts.baseUrl).origin : undefined;
  // A callback hook, not an async one: it runs on every request and needs no promise.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    setStaticHeaders(reply);
    if (request.protocol === 'https') {
      reply.header('strict-transport-security', HSTS);
    } else if (httpsOrigin && !PROBES.has(pathOf(request.url))) {
      reply.redirect(httpsLocation(httpsOrigin, request.url), 308);
      return; // the reply is sent: the request goes no further
    }
    done();
  });
}

/** The headers every response carries, page or not (a request the router refused included). */
export function setStaticHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  for (const [name, value] of STATIC_HEADERS) reply.header(name, value);
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The HTTPS address for a plain-HTTP request target. Only its path and query are kept: a
 * protocol-relative (`//evil.example/x`) or absolute-form (`http://evil.example/x`) target must
 * never move the redirect to another host.
 */
export function httpsLocation(origin: string, requestTarget: string): string {
  const path = requestTarget.startsWith('/') ? requestTarget.replace(/^[/\\]+/, '/') : '/';
  return `${origin}${path}`;
}

/** Always-exempt paths: load balancers probe them over plain HTTP. */
const PROBES = new Set(['/healthz', '/readyz']);

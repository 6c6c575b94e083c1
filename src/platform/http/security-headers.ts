import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

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

/**
 * R2 headers on every response (errors and 404s included, since they are set on request),
 * HSTS on HTTPS only (T2), and a 308 to HTTPS when the public URL is https but a request
 * arrived over plain HTTP (through a trusted proxy, or straight to the port).
 */
export async function securityHeaders(app: FastifyInstance, opts: { baseUrl: string }): Promise<void> {
  await app.register(helmet, {
    enableCSPNonces: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"], // helmet appends the per-response nonce
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        manifestSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    hsts: false, // only over HTTPS: see the hook below
    // Not no-referrer: under it browsers send `Origin: null` on our own form posts, which the CSRF
    // origin check must refuse. same-origin still sends nothing to other sites (tokens in URLs stay here).
    referrerPolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });

  const httpsOrigin = opts.baseUrl.startsWith('https:') ? new URL(opts.baseUrl).origin : undefined;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Permissions-Policy', PERMISSIONS_POLICY);
    reply.header('Cache-Control', 'no-store');
    if (request.protocol === 'https') {
      reply.header('Strict-Transport-Security', HSTS);
    } else if (httpsOrigin && !PROBES.has(request.url.split('?')[0]!)) {
      return reply.redirect(httpsLocation(httpsOrigin, request.url), 308);
    }
  });
}

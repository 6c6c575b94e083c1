import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../request-context.js';
import { deviceTokenOf } from './device-cookie.js';

export function requestContext(request: FastifyRequest): RequestContext {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
    device: deviceTokenOf(request),
  };
}

import type { FastifyReply, FastifyRequest } from 'fastify';

/** A8: marks a browser that has signed in to an account before (see platform/crypto/device-tokens). */
export const DEVICE_COOKIE = '__Host-rampart_device';
const ONE_YEAR_SEC = 365 * 24 * 60 * 60;

export function setDeviceCookie(reply: FastifyReply, token: string): void {
  reply.setCookie(DEVICE_COOKIE, token, {
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    maxAge: ONE_YEAR_SEC,
  });
}

export const deviceTokenOf = (request: FastifyRequest): string | null => request.cookies?.[DEVICE_COOKIE] ?? null;

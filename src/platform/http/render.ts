import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Viewer } from '../views/layout.js';
import { type Page, renderDocument } from '../views/render.js';

declare module 'fastify' {
  interface FastifyReply {
    /** Sends a server-rendered page inside the layout, with this response's CSP nonce (drawn now). */
    render(title: string, body: Page, scripts?: string[]): FastifyReply;
  }
}

/** `viewer` tells the layout who is signed in; the sessions feature provides it. */
export function pageRendering(
  app: FastifyInstance,
  viewer: (request: FastifyRequest, reply: FastifyReply) => Viewer | undefined = () => undefined,
): void {
  app.decorateReply('render', function (this: FastifyReply, title: string, body: Page, scripts?: string[]) {
    const html = renderDocument(title, this.cspNonce(), body, { scripts, viewer: viewer(this.request, this) });
    return this.type('text/html; charset=utf-8').send(html);
  });
}

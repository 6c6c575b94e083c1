import type { FastifyInstance, FastifyReply } from 'fastify';
import type { VNode } from 'preact';
import { renderDocument } from '../views/render.js';

declare module 'fastify' {
  interface FastifyReply {
    /** Sends a server-rendered page inside the layout, with this response's CSP nonce. */
    render(title: string, body: VNode<any>, scripts?: string[]): FastifyReply;
  }
}

export function pageRendering(app: FastifyInstance): void {
  app.decorateReply('render', function (this: FastifyReply, title: string, body: VNode<any>, scripts?: string[]) {
    return this.type('text/html; charset=utf-8').send(renderDocument(title, this.cspNonce.script, body, scripts));
  });
}

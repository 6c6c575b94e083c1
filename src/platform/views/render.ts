import { h, type VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { Layout } from './layout.js';

/** A whole HTML document. Preact escapes every text and attribute value; nothing here injects raw HTML (R3). */
export function renderDocument(title: string, nonce: string, body: VNode<any>, scripts?: string[]): string {
  return `<!doctype html>${renderToString(h(Layout, { title, nonce, scripts, children: body }))}`;
}

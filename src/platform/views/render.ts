import { h, type VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { Layout, type Viewer } from './layout.js';

/** A whole HTML document. Preact escapes every text and attribute value; nothing here injects raw HTML (R3). */
export function renderDocument(title: string, nonce: string, body: VNode<any>, opts: { scripts?: string[]; viewer?: Viewer } = {}): string {
  return `<!doctype html>${renderToString(h(Layout, { title, nonce, scripts: opts.scripts, viewer: opts.viewer, children: body }))}`;
}

import { h, type VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { Layout, type Viewer } from './layout.js';

/** Any rendered page body; its props are the component's business, not the layout's. */
// biome-ignore lint/suspicious/noExplicitAny: a page of any component, as Preact types a child
export type Page = VNode<any>;

/** A whole HTML document. Preact escapes every text and attribute value; nothing here injects raw HTML (R3). */
export function renderDocument(
  title: string,
  nonce: string,
  body: Page,
  opts: { scripts?: string[]; viewer?: Viewer } = {},
): string {
  const page = h(Layout, { title, nonce, scripts: opts.scripts, viewer: opts.viewer, children: body });
  return `<!doctype html>${renderToString(page)}`;
}

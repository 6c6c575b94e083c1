import type { KoaContextWithOIDC } from 'oidc-provider';
import { cspWithFormTargets, nextNonce } from '../platform/http/security-headers.js';
import { type Page, renderDocument } from '../platform/views/render.js';
import { LogoutConfirmPage, ProviderErrorPage, SignedOutPage } from './pages.js';

/** Answers a provider page in the browser with Rampart's layout and a CSP nonce of its own. */
function sendPage(ctx: KoaContextWithOIDC, title: string, body: Page, formTargets: readonly string[] = []): void {
  const nonce = nextNonce();
  ctx.set('content-security-policy', cspWithFormTargets(nonce, formTargets));
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = renderDocument(title, nonce, body);
}

/** The pages oidc-provider itself answers with, in Rampart's layout. */
export const providerPages = {
  renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) {
    sendPage(ctx, 'Sign-in error', <ProviderErrorPage error={out.error} description={out.error_description} />);
  },
  /** RP-initiated logout: the provider's own form is rebuilt from its action and anti-forgery value, never pasted. */
  logoutSource(ctx: KoaContextWithOIDC, form: string) {
    const action = /action="([^"]+)"/.exec(form)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
    const page = <LogoutConfirmPage action={action} xsrf={xsrf} clientName={ctx.oidc.client?.clientName} />;
    // The confirmation ends at one of the product's post-logout addresses.
    sendPage(ctx, 'Sign out', page, ctx.oidc.client?.postLogoutRedirectUris ?? []);
  },
  postLogoutSource(ctx: KoaContextWithOIDC) {
    sendPage(ctx, 'Signed out', <SignedOutPage clientName={ctx.oidc.client?.clientName} />);
  },
};

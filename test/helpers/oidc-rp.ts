import * as oidc from 'openid-client';
import { expect } from 'vitest';
import type { TestClient } from './client.js';
import { accounts } from './accounts.js';
import type { TestApp } from './app.js';

/*
 * A product's side of Rampart's sign-in, for the OpenID tests: openid-client builds the request,
 * a signed-in browser (TestClient) walks Rampart's pages until Rampart sends it back to the product.
 */

/** Where a response sends the browser: a redirect, or the Refresh header of Rampart's "continue" page. */
export const next = (res: { statusCode: number; headers: Record<string, unknown> }) =>
  res.statusCode >= 300 && res.statusCode < 400
    ? String(res.headers.location)
    : typeof res.headers.refresh === 'string'
      ? res.headers.refresh.replace(/^0; url=/, '')
      : undefined;

/** Follows redirects inside Rampart (at `issuer`) until one leaves for the product's `redirect` (or a page answers). */
export async function browse(browser: TestClient, url: string, at: { issuer: string; redirect: string }) {
  let res = await browser.page(url);
  for (let i = 0; i < 10 && next(res) !== undefined; i++) {
    const location = next(res)!;
    if (location.startsWith(at.redirect)) return { res, callback: new URL(location) };
    const to = new URL(location, at.issuer);
    res = await browser.page(to.pathname + to.search);
  }
  return { res, callback: undefined };
}

/** Code + PKCE + state + nonce from the product, through Rampart's pages; the callback if Rampart sent one. */
export async function signInToProduct(
  browser: TestClient,
  config: oidc.Configuration,
  at: { issuer: string; redirect: string },
  extra: Record<string, string> = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: at.redirect,
    scope: 'openid email org',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const { res, callback } = await browse(browser, url.pathname + url.search, at);
  return { res, callback, verifier, state, nonce };
}

/** The tokens of a sign-in that Rampart completes without asking anything. */
export async function tokensFor(
  browser: TestClient,
  config: oidc.Configuration,
  at: { issuer: string; redirect: string },
) {
  const s = await signInToProduct(browser, config, at);
  expect(s.callback, s.res.body).toBeDefined();
  return oidc.authorizationCodeGrant(config, s.callback!, {
    pkceCodeVerifier: s.verifier,
    expectedState: s.state,
    expectedNonce: s.nonce,
  });
}

/** A verified, signed-in person who owns a new organization. */
export async function personWithOrg(t: TestApp, name = 'Acme') {
  const people = accounts(t);
  const email = await people.verified();
  const browser = await people.signedIn(email);
  const org = await browser.api('POST', '/api/v1/orgs', { name });
  expect(org.statusCode).toBe(201);
  const me = (await browser.api('GET', '/api/v1/me')).json();
  return { email, browser, orgId: org.json().id as string, userId: me.user.id as string };
}

import { expect } from 'vitest';
import { totpCode } from '../../src/mfa/totp.js';
import type { TestApp } from './app.js';
import type { TestClient } from './client.js';

/** The key on the authenticator-app setup page. */
export const totpSecretOn = (html: string) => /data-totp-secret="([A-Z2-7]+)"/.exec(html)![1]!;
/** The recovery codes on the page that shows them once. */
export const recoveryCodesOn = (html: string) =>
  [...html.matchAll(/<li><code>([a-z0-9-]{19})<\/code><\/li>/g)].map((m) => m[1]!);

/**
 * Turns the authenticator app on through the pages for a signed-in client (its session becomes
 * two-factor), then moves the clock one step on, past the step the enrollment code used.
 */
export async function enrollTotp(t: TestApp, client: TestClient): Promise<{ secret: string; codes: string[] }> {
  const setup = await client.page('/account/totp/setup');
  expect(setup.statusCode).toBe(200);
  const secret = totpSecretOn(setup.body);
  const done = await client.form('/account/totp/setup', { code: totpCode(secret, t.clock.now()) });
  expect(done.statusCode).toBe(200);
  t.clock.advance(30_000);
  return { secret, codes: recoveryCodesOn(done.body) };
}

import { createOperatorConsole } from '../../src/operator/index.js';
import { accounts, freshEmail } from './accounts.js';
import type { TestApp } from './app.js';
import type { TestClient } from './client.js';
import { enrollTotp } from './mfa.js';

/**
 * A signed-in client that may open the operator console: a verified account with an authenticator
 * app (its session is two-factor), granted the console as `rampart operator grant` does.
 */
export async function operatorClient(t: TestApp, email = freshEmail()): Promise<{ client: TestClient; email: string }> {
  const people = accounts(t);
  await people.verified(email);
  const client = await people.signedIn(email);
  await enrollTotp(t, client);
  await createOperatorConsole({ db: t.db, clock: t.clock }).grant(email);
  return { client, email };
}

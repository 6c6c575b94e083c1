import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { linkIn, TestClient, type ClientOptions } from './client.js';

export const PASSWORD = 'vivid otter pencil marble';

let n = 0;
/** A unique address per call, across test files running at once. */
export const freshEmail = () => `u${++n}.${process.pid}.${Date.now()}@example.com`;

/** Accounts made through the real sign-up and verification flow of one test app. */
export function accounts(t: TestApp) {
  async function signUp(email: string, client = new TestClient(t.app)): Promise<string> {
    const res = await client.api('POST', '/api/v1/signup', { email, password: PASSWORD });
    expect(res.statusCode).toBe(202);
    return linkIn((await t.mailTo(email.toLowerCase(), /^Confirm your e-mail address$/)).text, '/verify-email').token;
  }

  async function verified(email = freshEmail()): Promise<string> {
    const token = await signUp(email);
    expect((await new TestClient(t.app).api('POST', '/api/v1/email-verification', { token })).statusCode).toBe(200);
    return email;
  }

  async function signIn(email: string, password = PASSWORD, client = new TestClient(t.app)) {
    const res = await client.api('POST', '/api/v1/signin', { email, password });
    return { res, client };
  }

  /** A signed-in client (a browser) of a verified account, optionally on another instance. */
  async function signedIn(email: string, app: TestApp = t, opts: ClientOptions = {}): Promise<TestClient> {
    const { res, client } = await signIn(email, PASSWORD, new TestClient(app.app, opts));
    expect(res.statusCode).toBe(200);
    return client;
  }

  return { signUp, verified, signIn, signedIn };
}

// Seeding through the public HTTP API only: sign-up, the verification link from the dev mailbox, sign-in,
// an organization and an organization API key (members.read).
import { randomBytes } from 'node:crypto';
import { httpClient, type HttpResult } from '../http-client.js';
import { sleep } from './processes.js';

export const PASSWORD = 'vivid otter pencil marble';

export interface Seeded {
  /** The 20 (or so) accounts of the sign-in storm; the first also signs in for /api/v1/me. */
  emails: string[];
  /** `__Host-rampart_session=...` of the first account. */
  cookie: string;
  orgId: string;
  apiKey: string;
}

function expectStatus(res: HttpResult, status: number, what: string): HttpResult {
  if (res.status !== status) throw new Error(`seeding: ${what} answered ${res.status}, not ${status}: ${res.body}`);
  return res;
}

/** `accounts` verified accounts, one signed in, with an organization and an API key of it. */
export async function seed(base: string, origin: string, accounts: number): Promise<Seeded> {
  const client = httpClient(base);
  const run = randomBytes(4).toString('hex');
  // Each seeding step comes from its own address (per-address sign-up, mail and token limits).
  const octet = 1 + Math.floor(Math.random() * 250);
  const from = (i: number) => ({ 'x-forwarded-for': `10.${octet}.250.${i + 1}`, origin });
  const json = { 'content-type': 'application/json' };
  try {
    const emails = Array.from({ length: accounts }, (_, i) => `bench${i}.${run}@example.com`);
    for (let i = 0; i < emails.length; i += 4) {
      await Promise.all(
        emails.slice(i, i + 4).map(async (email, j) => {
          const body = JSON.stringify({ email, password: PASSWORD });
          expectStatus(
            await client.request('POST', '/api/v1/signup', { ...json, ...from(i + j) }, body),
            202,
            `sign-up of ${email}`,
          );
        }),
      );
    }
    for (const [i, email] of emails.entries()) {
      const token = await verificationToken(client, email);
      const body = JSON.stringify({ token });
      const res = await client.request('POST', '/api/v1/email-verification', { ...json, ...from(i) }, body);
      expectStatus(res, 200, `verification of ${email}`);
    }
    const signIn = await client.request(
      'POST',
      '/api/v1/signin',
      { ...json, ...from(0) },
      JSON.stringify({ email: emails[0], password: PASSWORD }),
    );
    expectStatus(signIn, 200, 'sign-in');
    const cookie = [signIn.headers['set-cookie']]
      .flat()
      .find((c) => c?.startsWith('__Host-rampart_session='))
      ?.split(';')[0];
    if (!cookie) throw new Error(`seeding: the sign-in set no session cookie: ${signIn.headers['set-cookie']}`);
    const csrf = JSON.parse(
      expectStatus(await client.request('GET', '/api/v1/csrf-token', { cookie }), 200, 'csrf token').body,
    ).token as string;
    const post = (p: string, body: unknown) =>
      client.request('POST', p, { ...json, ...from(0), cookie, 'x-csrf-token': csrf }, JSON.stringify(body));
    const org = JSON.parse(expectStatus(await post('/api/v1/orgs', { name: 'Bench' }), 201, 'create org').body) as {
      id: string;
    };
    const created = await post(`/api/v1/orgs/${org.id}/api-keys`, {
      name: 'bench',
      scopes: ['members.read'],
      expiresInDays: 1,
    });
    const { key } = JSON.parse(expectStatus(created, 201, 'create API key').body) as { key: string };
    return { emails, cookie, orgId: org.id, apiKey: key };
  } finally {
    client.close();
  }
}

/** The token of the "Confirm your e-mail address" mail to `email`, read from /dev/mailbox as a person would. */
async function verificationToken(client: ReturnType<typeof httpClient>, email: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const list = expectStatus(await client.request('GET', '/dev/mailbox', { accept: 'text/html' }), 200, 'mailbox');
    const rows = [
      ...list.body.matchAll(/<td>([^<]*)<\/td><td><a href="\/dev\/mailbox\/([0-9a-f-]{36})">([^<]*)<\/a>/g),
    ];
    const row = rows.find((m) => m[1] === email && /^Confirm your e-mail address$/.test(m[3]!));
    if (row) {
      const page = await client.request('GET', `/dev/mailbox/${row[2]}`, { accept: 'text/html' });
      const token = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(expectStatus(page, 200, 'mail').body)?.[1];
      if (!token) throw new Error(`seeding: no /verify-email link in the mail to ${email}`);
      return token;
    }
    await sleep(100);
  }
  throw new Error(`seeding: no verification mail to ${email} in /dev/mailbox after 10 s`);
}

import { describe, expect, it } from 'vitest';
import { freshEmail } from '../../test/helpers/accounts.js';
import { fileTestApp } from '../../test/helpers/app.js';
import { linkIn, TestClient } from '../../test/helpers/client.js';
import { operatorClient } from '../../test/helpers/operator.js';

const t = await fileTestApp();
const { client: op } = await operatorClient(t);
await op.form('/operator/status/components', { id: 'api', name: 'API', description: '', state: 'operational' });

const subscribe = (client: TestClient, email: string, component = 'all') =>
  client.form('/status/subscribe', { email, component });
const subscribers = () => t.db.withSystem((tx) => tx.selectFrom('status_subscribers').selectAll().execute());

async function confirmed(email: string, component = 'all') {
  const client = new TestClient(t.app);
  expect((await subscribe(client, email, component)).statusCode).toBe(200);
  const mail = await t.mailTo(email, /Confirm your .* status subscription/);
  const { token } = linkIn(mail.text, '/status/subscribe/confirm');
  expect((await client.form('/status/subscribe/confirm', { token })).statusCode).toBe(200);
  return { client, token };
}

describe('status subscribers', () => {
  it('[X2] double opt-in: nothing is subscribed until the link is confirmed; the link shows a button', async () => {
    const email = freshEmail();
    const client = new TestClient(t.app);
    const res = await subscribe(client, email, 'api');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Check your inbox');
    const mail = await t.mailTo(email, /Confirm/);
    const { token, url } = linkIn(mail.text, '/status/subscribe/confirm');
    expect(url.startsWith(`${t.config.baseUrl}/status/subscribe/confirm?token=`)).toBe(true);
    expect((await subscribers()).map((s) => s.email)).not.toContain(email);

    const landing = await client.page(`/status/subscribe/confirm?token=${token}`);
    expect(landing.statusCode).toBe(200);
    expect(landing.body).toContain('Confirm subscription');
    expect((await subscribers()).map((s) => s.email)).not.toContain(email); // a GET changes nothing

    expect((await client.form('/status/subscribe/confirm', { token })).statusCode).toBe(200);
    const row = (await subscribers()).find((s) => s.email === email)!;
    expect(row.all_components).toBe(false);
    const follows = await t.db.withSystem((tx) =>
      tx.selectFrom('status_subscriber_components').selectAll().where('subscriber_id', '=', row.id).execute(),
    );
    expect(follows.map((f) => f.component_id)).toEqual(['api']);
    // The token is stored only as its SHA-256.
    const pending = await t.db.withSystem((tx) => tx.selectFrom('status_pending_subscriptions').selectAll().execute());
    expect(JSON.stringify(pending)).not.toContain(token);
  });

  it('[X2] a replayed confirm link and an expired one are refused', async () => {
    const { client, token } = await confirmed(freshEmail());
    const replay = await client.form('/status/subscribe/confirm', { token });
    expect(replay.statusCode).toBe(400);
    expect(replay.body).toContain('expired or was already used');

    const email = freshEmail();
    await subscribe(client, email);
    const late = linkIn((await t.mailTo(email, /Confirm/)).text, '/status/subscribe/confirm').token;
    t.clock.advance(24 * 60 * 60 * 1000 + 1000);
    expect((await client.page(`/status/subscribe/confirm?token=${late}`)).statusCode).toBe(400);
    expect((await client.form('/status/subscribe/confirm', { token: late })).statusCode).toBe(400);
    expect((await subscribers()).map((s) => s.email)).not.toContain(email);
    for (const junk of ['', 'x', 'A'.repeat(43).replace(/A$/, '!'), 'A'.repeat(101)]) {
      const res = await client.form('/status/subscribe/confirm', { token: junk });
      expect(res.statusCode).toBe(400);
    }
  });

  it('[X2] the answer is the same whether or not the address already follows the page', async () => {
    const email = freshEmail();
    await confirmed(email);
    const again = await subscribe(new TestClient(t.app), email);
    const fresh = await subscribe(new TestClient(t.app), freshEmail());
    expect(again.statusCode).toBe(fresh.statusCode);
    const strip = (s: string) => s.replace(/nonce="[^"]*"|value="[^"]*"/g, '');
    expect(strip(again.body)).toBe(strip(fresh.body));
  });

  it('[X2] bad, oversize and odd-Unicode addresses and unknown components are refused next to the field', async () => {
    const client = new TestClient(t.app);
    for (const email of [
      'not an address',
      `${'a'.repeat(250)}@example.com`,
      `${'a'.repeat(400)}@example.com`,
      'ｆｏｏ@example.com',
      'evil\u202e@example.com',
      'a@example.com, b@example.com',
      'Name <a@example.com>',
      'a\u0000@example.com',
    ]) {
      const res = await subscribe(client, email);
      expect({ email, status: res.statusCode }).toEqual({ email, status: 400 });
      expect(res.body).toContain('id="field-email-error"');
    }
    const unknown = await subscribe(client, freshEmail(), 'no-such-component');
    expect(unknown.statusCode).toBe(400);
  });

  it('[X2] sign-up is rate limited per address of the caller', async () => {
    const client = new TestClient(t.app);
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await subscribe(client, freshEmail())).statusCode;
    expect(last).toBe(429);
  });
});

/** A public incident declared on the incidents console, as an operator does; its id. */
async function declare(fields: Record<string, string>): Promise<string> {
  const res = await op.form('/operator/incidents', {
    kind: 'incident',
    severity: 'high',
    impact: 'major_outage',
    public: 'on',
    firstUpdatePublic: 'on',
    ...fields,
  });
  expect(res.statusCode).toBe(303);
  return /\/operator\/incidents\/([^?/]+)/.exec(res.headers.location as string)![1]!;
}

describe('status update mail', () => {
  it('[X2] followers of a component get each public update once, with one-click unsubscribe (RFC 8058)', async () => {
    await op.form('/operator/status/components', { id: 'web', name: 'Web', description: '', state: 'operational' });
    const apiFan = freshEmail();
    const webFan = freshEmail();
    const everything = freshEmail();
    await confirmed(apiFan, 'api');
    await confirmed(webFan, 'web');
    await confirmed(everything, 'all');

    const id = await declare({ title: 'API errors', component: 'api', firstUpdate: 'We are looking into API errors.' });
    const mail = await t.mailTo(apiFan, /API errors/);
    expect(mail.text).toContain('We are looking into API errors.');
    expect(mail.text).toContain(`${t.config.baseUrl}/status/incidents/${id}`);
    await t.mailTo(everything, /API errors/);
    const all = await t.mailbox.list(500);
    expect(all.filter((m) => m.to === webFan && /API errors/.test(m.subject))).toHaveLength(0);
    expect(all.filter((m) => m.to === apiFan && /API errors/.test(m.subject))).toHaveLength(1);

    const unsubscribe = mail.headers['List-Unsubscribe']!;
    expect(mail.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const url = new URL(/^<(https?:\/\/[^>]+)>$/.exec(unsubscribe)![1]!);
    expect(url.pathname).toBe('/status/unsubscribe');
    expect(mail.text).toContain(url.href);
    const token = url.searchParams.get('token')!;
    const stored = await t.db.withSystem((tx) => tx.selectFrom('status_subscribers').selectAll().execute());
    expect(JSON.stringify(stored)).not.toContain(token);

    const landing = await new TestClient(t.app).page(`/status/unsubscribe?token=${token}`);
    expect(landing.statusCode).toBe(200);
    expect(landing.body).toContain('Unsubscribe</button>');
    expect((await subscribers()).map((s) => s.email)).toContain(apiFan); // a GET changes nothing

    // The mail client's POST: cross-site, no cookie, no CSRF token.
    const oneClick = () =>
      t.app.inject({
        method: 'POST',
        url: `${url.pathname}${url.search}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://mail.example.net' },
        payload: 'List-Unsubscribe=One-Click',
      });
    expect((await oneClick()).statusCode).toBe(200);
    expect((await subscribers()).map((s) => s.email)).not.toContain(apiFan);
    expect((await oneClick()).statusCode).toBe(200); // again: nothing to tell, nothing done

    // The next public update reaches those still following, once each, and not the one who left.
    t.clock.advance(5 * 60_000);
    const phase = await op.form(`/operator/incidents/${id}/phase`, {
      phase: 'contain',
      phaseMessage: 'Found a bad deploy; rolling back.',
      public: 'on',
    });
    expect(phase.statusCode).toBe(303);
    await t.mailTo(everything, /Identified/);
    const after = await t.mailbox.list(500);
    expect(after.filter((m) => m.to === everything && /Identified/.test(m.subject))).toHaveLength(1);
    expect(after.filter((m) => m.to === apiFan && /Identified/.test(m.subject))).toHaveLength(0);
    const claims = await t.db.withSystem((tx) => tx.selectFrom('status_notifications').selectAll().execute());
    expect(new Set(claims.map((c) => `${c.subscriber_id} ${c.update_key}`)).size).toBe(claims.length);
  });
});

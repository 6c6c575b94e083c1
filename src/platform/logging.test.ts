import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';
import { Writable } from 'node:stream';
import { createLogger, maskEmails, redactUrl, scrubLogObject, scrubMessage } from './logging.js';

const SECRETS = {
  password: 'correct horse battery staple 42',
  bearer: 'rmp_live_abc123_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
  cookie: 'AqZ9x8W7v6U5t4S3r2Q1p0OnMlKjIhGfEdCbA9y8X7w',
  token: 'dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZSAxMjM',
  email: 'victim@example.org',
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ LOG_LEVEL: 'trace' }, (app) => {
    app.post(
      '/api/v1/login-like',
      {
        schema: {
          body: Type.Object(
            { email: Type.String(), password: Type.String({ maxLength: 10 }) },
            { additionalProperties: false },
          ),
        },
      },
      async () => ({ ok: true }),
    );
    // A careless handler that logs everything it was given: redaction must still hold.
    app.post(
      '/api/v1/careless',
      { schema: { body: Type.Object({ user: Type.Object({ password: Type.String(), token: Type.String() }) }) } },
      async (request) => {
        request.log.info({ body: request.body, headers: request.headers }, 'careless log');
        return { ok: true };
      },
    );
  });
});
afterAll(() => t.close());

describe('logs', () => {
  it('[L3] secrets sent in headers, cookies, query strings, bodies and errors never reach the log', async () => {
    const headers = { authorization: `Bearer ${SECRETS.bearer}`, cookie: `__Host-rampart_session=${SECRETS.cookie}` };
    await t.app.inject({ url: `/healthz?token=${SECRETS.token}&email=${SECRETS.email}`, headers });
    await t.app.inject({ url: '/nope', headers: { ...headers, accept: 'text/html' } });
    // Cookie-less bearer calls, like an API client's: no CSRF token needed, so the handlers run.
    headers.cookie = '';
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/login-like',
      headers,
      payload: { email: SECRETS.email, password: SECRETS.password },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/login-like',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: `{"password": "${SECRETS.password}`,
    });
    // No credentials at all (an unknown bearer key is refused before any handler), so the careless handler runs.
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/careless',
      headers: { cookie: `tracking=${SECRETS.cookie}` },
      payload: { user: { password: SECRETS.password, token: SECRETS.token } },
    });
    await t.app.inject({ url: `/nope/${SECRETS.token}?password=${encodeURIComponent(SECRETS.password)}`, headers });
    // An OAuth callback: its state (a one-time flow key) is as secret as its code.
    await t.app.inject({ url: `/sign-in/external/acme/callback?code=x&state=${SECRETS.token}`, headers });

    const logs = t.logs();
    expect(logs).toContain('careless log'); // the log was written...
    expect(logs).toContain('[redacted]'); // ...with the secrets blanked
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(logs.includes(secret), `${name} leaked into the log`).toBe(false);
      expect(logs.includes(encodeURIComponent(secret)), `${name} leaked URL-encoded`).toBe(false);
    }
  });

  it('[L3] secret fields are blanked at any depth and in any letter case; other fields are kept', () => {
    const logged = {
      password: 'p',
      user: { name: 'ann', Token: 't', nested: [{ deeper: { apiKey: 'k', 'X-CSRF-Token': 'c', keep: 1 } }] },
      headers: { cookie: 'c', 'set-cookie': ['s'], 'user-agent': 'curl' },
      count: 3,
    };
    expect(scrubLogObject(logged)).toEqual({
      password: '[redacted]',
      user: {
        name: 'ann',
        Token: '[redacted]',
        nested: [{ deeper: { apiKey: '[redacted]', 'X-CSRF-Token': '[redacted]', keep: 1 } }],
      },
      headers: { cookie: '[redacted]', 'set-cookie': '[redacted]', 'user-agent': 'curl' },
      count: 3,
    });
    expect(logged.user.Token).toBe('t'); // the caller's object is not changed
    const plain = { status: 200, path: '/x' };
    expect(scrubLogObject(plain)).toBe(plain); // nothing to blank: nothing copied
    let deep: Record<string, unknown> = { secret: 's' };
    for (let i = 0; i < 10; i++) deep = { next: deep };
    expect(JSON.stringify(scrubLogObject(deep))).not.toContain('"s"'); // too deep to walk: not written
  });

  it('[L3] a request is logged once, when it completes, with its status and without its secrets', async () => {
    const before = t.logs().length;
    await t.app.inject({ url: `/healthz?token=${SECRETS.token}`, headers: { cookie: `a=${SECRETS.cookie}` } });
    const lines = t
      .logs()
      .slice(before)
      .split('\n')
      .filter((l) => l.includes('"/healthz'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'request completed',
      req: { method: 'GET', url: '/healthz?token=[redacted]' },
      res: { statusCode: 200 },
    });
    expect(lines[0]).not.toContain(SECRETS.token);
  });

  it('[L3] URLs keep their path and parameter names but not sensitive values', () => {
    expect(redactUrl('/verify?token=abc&next=%2Fhome')).toBe('/verify?token=[redacted]&next=%2Fhome');
    expect(redactUrl('/plain')).toBe('/plain');
  });

  it('[L3] error messages lose quoted input, key values, e-mail addresses and token-like strings', () => {
    expect(scrubMessage('Unexpected token "s3cret" in JSON')).toBe('Unexpected token [redacted] in JSON');
    expect(scrubMessage('Key (email)=(a@b.co) already exists')).toBe('Key [redacted] already exists');
    expect(scrubMessage('mail to bob@example.com failed')).toBe('mail to [redacted] failed');
    expect(scrubMessage('at handleRequest (/work/main/node_modules/fastify/lib/handleRequest.js:12:3)')).toBe(
      'at handleRequest (/work/main/node_modules/fastify/lib/handleRequest.js:12:3)',
    );
  });

  it('[L3] e-mail addresses keep their domain and lose the person, in fields, messages and child bindings', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink);
    logger
      .child({ user: 'ann.lee@example.org', token: 'child-secret' })
      .child({ nested: { reporter: 'bob@mail.example.com' } })
      .info({ email: 'carol@example.net', list: ['dan+tag@example.co.uk'] }, 'mail to eve@example.org bounced');
    const line = lines.join('');
    for (const person of ['ann.lee@', 'bob@', 'carol@', 'dan+tag@', 'eve@', 'child-secret'])
      expect(line, `${person} was logged`).not.toContain(person);
    expect(JSON.parse(line)).toMatchObject({
      user: '***@example.org',
      token: '[redacted]',
      nested: { reporter: '***@mail.example.com' },
      email: '***@example.net',
      list: ['***@example.co.uk'],
      msg: 'mail to ***@example.org bounced',
    });
  });

  it('[L3] masking leaves strings without an address alone', () => {
    expect(maskEmails('no address here')).toBe('no address here');
    expect(maskEmails('/node_modules/@fastify/error/index.js')).toBe('/node_modules/@fastify/error/index.js');
    expect(maskEmails('<a@b.c>, "x.y@z.io"')).toBe('<***@b.c>, "***@z.io"');
  });
});

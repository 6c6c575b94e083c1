import { Writable } from 'node:stream';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import pino, { type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { trustTestApp } from '../../test/helpers/trust.js';
import type { Tenancy } from '../platform/db/database.js';
import { createLogger } from '../platform/logging.js';
import type { renderDocument } from '../platform/views/render.js';
import { escapingCheck, logRedactionCheck, parameterizedQueryCheck } from './code-checks.js';
import { injectProbe, type SelfProbe } from './probe.js';

const { t, ctx, check } = await trustTestApp();
const probe = () => injectProbe(t.app);
const discard = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

describe('log redaction', () => {
  it('[L3] log-redaction passes on this instance and says retention is not verified', async () => {
    const verdict = await check('log-redaction');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toMatch(/30 days.*not verified/);
  });

  it("[L3] log-redaction fails with a logger that writes what it is given (pino's defaults)", async () => {
    const verdict = await logRedactionCheck(pino({}, discard())).run(probe());
    expect(verdict.status).toBe('failing');
    expect(verdict.detail).toMatch(/a password, API key or token was written; an e-mail address was written whole/);
  });

  it('[L3] log-redaction fails with a logger whose output it cannot read', async () => {
    const logger = { child: () => ({}) } as unknown as Logger;
    expect(await logRedactionCheck(logger).run(probe())).toMatchObject({ status: 'failing' });
  });

  it('[L3] log-redaction fails when the message is lost', async () => {
    const logger = createLogger('info', discard()).child({}, { serializers: { msg: () => '[redacted]' } });
    expect(await logRedactionCheck(logger).run(probe())).toMatchObject({
      status: 'failing',
      detail: expect.stringContaining('the message was not kept'),
    });
  });
});

describe('output escaping', () => {
  it('[R3] output-escaping passes with the real renderer', async () => {
    expect(await check('output-escaping')).toMatchObject({ status: 'passing' });
  });

  it('[R3] output-escaping fails with a renderer that builds HTML by concatenating strings', async () => {
    const careless: typeof renderDocument = (title) =>
      `<!doctype html><html><head><title>${title}</title></head>` +
      `<body><p id="probe" title="${title}">${title}</p></body></html>`;
    const verdict = await escapingCheck(careless).run(probe());
    expect(verdict.status).toBe('failing');
    expect(verdict.detail).toMatch(/script element\(s\) came from the data; an img element came from the data/);
  });
});

/** A query compiler that writes values into the SQL text, as string building would. */
class InliningCompiler extends PostgresQueryCompiler {
  protected override appendValue(parameter: unknown): void {
    this.append(`'${String(parameter)}'`);
  }
}

const inlining: Tenancy = (() => {
  const kysely = new Kysely<Record<string, never>>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new InliningCompiler(),
    },
  });
  // biome-ignore lint/suspicious/noExplicitAny: a query builder standing in for the transaction
  const withAny = (fn: (tx: any, after: () => void) => Promise<unknown>) => fn(kysely, () => {});
  return { withSystem: withAny, withTenant: (_org, fn) => withAny(fn), withPerson: (_user, fn) => withAny(fn) };
})() as Tenancy;

describe('parameterized queries', () => {
  it('[R4] parameterized-queries passes: injection strings are parameters and refused cleanly', async () => {
    const verdict = await check('parameterized-queries');
    expect(verdict).toMatchObject({ status: 'passing' });
    expect(verdict.detail).toContain('/status/incidents/:id 400 invalid_request');
  });

  it('[R4] parameterized-queries fails when the query builder writes values into the SQL text', async () => {
    const verdict = await parameterizedQueryCheck(inlining, probe).run(probe());
    expect(verdict.status).toBe('failing');
    expect(verdict.detail).toContain(`"' OR '1'='1": the value was written into the SQL text`);
  });

  it('[R4] parameterized-queries fails when an endpoint answers an injection string with a 500', async () => {
    const broken: SelfProbe = {
      async request(path, init) {
        if (path.startsWith('/status/unsubscribe'))
          return { status: 500, headers: {}, body: '{"error":{"code":"internal"}}' };
        return injectProbe(t.app).request(path, init);
      },
    };
    const verdict = await parameterizedQueryCheck(ctx().platform.db, () => broken).run(broken);
    expect(verdict.status).toBe('failing');
    expect(verdict.detail).toMatch(/GET \/status\/unsubscribe\?token=.* answered 500 internal/);
  });

  it('[R4] parameterized-queries fails when an answer shows a database error', async () => {
    const leaky: SelfProbe = {
      async request() {
        return { status: 200, headers: {}, body: 'syntax error at or near "OR"' };
      },
    };
    const verdict = await parameterizedQueryCheck(ctx().platform.db, () => leaky).run(leaky);
    expect(verdict).toMatchObject({ status: 'failing', detail: expect.stringContaining('showing a database error') });
  });
});

import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { BLANKS } from '../../../test/helpers/input.js';
import { Int, OptionalText, Text, trimText } from './schemas.js';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({}, (app) => {
    app.post(
      '/api/v1/echo-input',
      {
        schema: {
          querystring: Type.Object(
            { page: Type.Optional(Int({ minimum: 1, maximum: 10 })) },
            { additionalProperties: false },
          ),
          body: Type.Object(
            {
              name: Text({ maxLength: 5 }),
              note: OptionalText({ maxLength: 20, multiline: true }),
              count: Type.Optional(Int({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
              password: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => ({ body: request.body, query: request.query }),
    );
  });
});
afterAll(() => t.close());

const echo = (body: unknown, query = '') =>
  t.app.inject({ method: 'POST', url: `/api/v1/echo-input${query}`, payload: body as object });
const fieldsOf = async (body: unknown, query?: string) => {
  const res = await echo(body, query);
  expect(res.statusCode).toBe(400);
  expect(res.json().error.code).toBe('invalid_request');
  return res.json().error.fields as Array<{ field: string; message: string }>;
};

describe('text and number fields in the schema layer (R5)', () => {
  it(
    '[R5] text is trimmed of Unicode White_Space, the BOM and zero-width spaces, then its length is ' + 'checked',
    async () => {
      expect(trimText('\ufeff\u3000\u00a0\u2028\u0085\u200b a b \t\n\u205f')).toBe('a b');
      expect(trimText('a\u200db')).toBe('a\u200db'); // inside the text nothing is touched (emoji sequences)
      const res = await echo({ name: '\u3000 Acme \ufeff', note: ' two\nlines ' });
      expect(res.statusCode).toBe(200);
      expect(res.json().body).toEqual({ name: 'Acme', note: 'two\nlines' });
      expect(await fieldsOf({ name: ' 123456 ' })).toEqual([
        { field: 'name', message: 'must be at most 5 characters' },
      ]);
    },
  );

  it(
    '[R5] blank after trimming is refused as "is required"; an optional field left blank is as if ' + 'absent',
    async () => {
      for (const blank of BLANKS) {
        expect(await fieldsOf({ name: blank }), JSON.stringify(blank)).toEqual([
          { field: 'name', message: 'is required' },
        ]);
        const res = await echo({ name: 'ok', note: blank });
        expect(res.statusCode).toBe(200);
        expect(res.json().body).toEqual({ name: 'ok' });
      }
    },
  );

  it(
    '[R5] control characters (NUL first of all) and broken UTF-16 are refused; a note may hold line ' + 'breaks',
    async () => {
      for (const name of ['a\u0000', 'a\nb', 'a\u001b', 'a\u009b']) {
        expect(await fieldsOf({ name }), JSON.stringify(name)).toEqual([
          { field: 'name', message: 'must not contain control characters' },
        ]);
      }
      expect(await fieldsOf({ name: 'ok', note: 'a\u0000' })).toEqual([
        { field: 'note', message: 'must not contain control characters' },
      ]);
      expect(await fieldsOf({ name: 'a\ud800' })).toEqual([{ field: 'name', message: 'must be valid Unicode text' }]);
      expect((await echo({ name: '😀' })).statusCode).toBe(200);
    },
  );

  it('[R5] a password is not text: its spaces are kept', async () => {
    expect((await echo({ name: 'ok', password: '  pass phrase  ' })).json().body.password).toBe('  pass phrase  ');
  });

  it(
    '[R5] integers are bounded, and "Infinity" or "1e999" does not slip past the bounds through ' + 'coercion',
    async () => {
      for (const page of ['Infinity', '-Infinity', '1e999', '11', '0', '1.5', 'NaN', '0xff']) {
        expect(
          (await fieldsOf({ name: 'ok' }, `?page=${page}`)).map((f) => f.field),
          page,
        ).toEqual(['page']);
      }
      expect((await echo({ name: 'ok' }, '?page=10')).json().query).toEqual({ page: 10 });
      for (const count of ['Infinity', '9223372036854775807', '1e30', -1]) {
        expect(
          (await fieldsOf({ name: 'ok', count })).map((f) => f.field),
          String(count),
        ).toEqual(['count']);
      }
      const literal = await t.app.inject({
        method: 'POST',
        url: '/api/v1/echo-input',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":"ok","count":1e400}',
      });
      expect(literal.statusCode).toBe(400);
    },
  );
});

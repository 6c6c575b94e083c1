import { h } from 'preact';
import pino, { type Logger } from 'pino';
import type { TrustCheck, TrustVerdict } from '../feature.js';
import type { Tenancy } from '../platform/db/database.js';
import { renderDocument } from '../platform/views/render.js';
import type { ProbeResponse, SelfProbe } from './probe.js';

/* R3, R4 and L3: what the code promises, seen in this instance's renderer, database and logger. */

const pass = (detail: string): TrustVerdict => ({ status: 'passing', detail });
const fail = (detail: string): TrustVerdict => ({ status: 'failing', detail });

const SECRET = 'rmp_trustcheck_9f8e7d6c5b4a39281706f5e4';
const PERSON = 'trust-check.person';
const EMAIL = `${PERSON}@example.invalid`;

/**
 * The line pino would write for this record, through the logger's own formatters and serializers
 * (pino.symbols exposes them for integrations), without writing it to the log.
 */
function serializedLine(logger: Logger): string | undefined {
  const child = logger.child({ reporter: EMAIL, token: SECRET });
  const asJson = (child as unknown as Record<symbol, unknown>)[pino.symbols.asJsonSym];
  if (typeof asJson !== 'function') return undefined;
  const record = {
    password: SECRET,
    user: { email: EMAIL, apiKey: SECRET },
    note: `reported by ${EMAIL}`,
    err: new Error(`refused for ${EMAIL}: "${SECRET}"`),
  };
  return asJson.call(child, record, `trust check: sign-in by ${EMAIL}`, 30, ',"time":0') as string;
}

export function logRedactionCheck(logger: Logger): TrustCheck {
  return {
    control: 'L3',
    id: 'log-redaction',
    title: 'Log lines lose secrets and the person in an e-mail address before they are written',
    async run() {
      const line = serializedLine(logger);
      if (line === undefined) return fail('the logger is not a pino logger whose output this check can read');
      let parsed: { msg?: unknown };
      try {
        parsed = JSON.parse(line);
      } catch {
        return fail('the logger wrote a line that is not JSON');
      }
      const problems: string[] = [];
      if (line.includes(SECRET)) problems.push('a password, API key or token was written');
      if (line.includes(PERSON)) problems.push('an e-mail address was written whole');
      if (typeof parsed.msg !== 'string' || !parsed.msg.startsWith('trust check: sign-in by'))
        problems.push('the message was not kept');
      if (problems.length > 0) return fail(`a log line with secrets and an address: ${problems.join('; ')}`);
      return pass(
        'a line with a password, an API key, a token binding and an e-mail address in a field, a binding, the ' +
          'message and an error, through this instance’s logger: no secret written, addresses kept as ' +
          '***@domain. Expiry after 30 days is the log collector’s job (docs/operations.md): not verified here',
      );
    },
  };
}

const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(1)>'&`;
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

export function escapingCheck(render: typeof renderDocument = renderDocument): TrustCheck {
  return {
    control: 'R3',
    id: 'output-escaping',
    title: 'Pages escape what they show: user data in text, attributes and titles never becomes markup',
    async run() {
      const nonce = 'trustchecknonce';
      const body = h('p', { id: 'probe', title: HOSTILE }, HOSTILE);
      const html = render(HOSTILE, nonce, body, { viewer: { email: HOSTILE, csrf: HOSTILE } });
      const problems: string[] = [];
      const scripts = html.match(/<script\b[^>]*>/gi) ?? [];
      const foreign = scripts.filter((s) => !s.includes(`nonce="${nonce}"`));
      if (foreign.length > 0) problems.push(`${foreign.length} script element(s) came from the data`);
      if (/<img\b/i.test(html)) problems.push('an img element came from the data');
      const p = /<p id="probe" title="([^"<]*)">([^<]*)<\/p>/.exec(html);
      if (!p) problems.push('the paragraph around the data was broken');
      else if (decode(p[1]!) !== HOSTILE || decode(p[2]!) !== HOSTILE)
        problems.push('the data did not come back as itself');
      const title = /<title>([^<]*)<\/title>/.exec(html);
      if (!title || !decode(title[1]!).startsWith(HOSTILE)) problems.push('the title was broken');
      if (problems.length > 0) return fail(`a page rendered with markup in its data: ${problems.join('; ')}`);
      return pass(
        'a page rendered with <script>, <img onerror> and quote-breaking text as its title, paragraph, attribute ' +
          'and signed-in address: all of it came out as escaped text, only the page’s own nonced scripts ran',
      );
    },
  };
}

const INJECTIONS = [`'; DROP TABLE users; --`, `' OR '1'='1`];

const errorCode = (res: ProbeResponse): string | undefined => {
  try {
    return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
};

const DATABASE_ERROR = /syntax error at or near|unterminated quoted string|SQLSTATE/i;

/** A value sent to the database through the query builder: parameter or SQL text? */
async function roundTrip(db: Tenancy, value: string): Promise<string | undefined> {
  return db.withSystem(async (tx) => {
    const query = tx.selectNoFrom((eb) => eb.val(value).as('probe'));
    const { sql, parameters } = query.compile();
    if (sql.includes(value) || !parameters.includes(value)) return 'the value was written into the SQL text';
    const rows = await query.execute();
    if (rows[0]?.probe !== value) return 'the value did not come back from the database as itself';
    return undefined;
  });
}

/** What is wrong with the answer to a request carrying an injection string (undefined: nothing). */
function answerProblem(res: ProbeResponse): string | undefined {
  const code = errorCode(res);
  if (res.status >= 500) return `${res.status} ${code ?? ''}`.trim();
  if (res.status >= 400 && !code) return `${res.status} without an error code`;
  if (DATABASE_ERROR.test(res.body)) return `${res.status} showing a database error`;
  return undefined;
}

export function parameterizedQueryCheck(
  db: Tenancy,
  probe: () => SelfProbe,
  paths = (input: string) => [
    `/status/incidents/${encodeURIComponent(input)}`,
    `/status/unsubscribe?token=${encodeURIComponent(input)}`,
  ],
): TrustCheck {
  return {
    control: 'R4',
    id: 'parameterized-queries',
    title: 'Values reach the database as parameters, never as SQL text',
    async run() {
      const problems: string[] = [];
      for (const input of INJECTIONS) {
        const problem = await roundTrip(db, input);
        if (problem) problems.push(`${JSON.stringify(input)}: ${problem}`);
      }
      const answers = new Map<string, string>();
      for (const input of INJECTIONS)
        for (const path of paths(input)) {
          const res = await probe().request(path, { headers: { accept: 'application/json' } });
          const problem = answerProblem(res);
          if (problem) problems.push(`GET ${path} answered ${problem}`);
          const route = path.split('?')[0]!.replace(encodeURIComponent(input), ':id');
          answers.set(route, `${res.status}${errorCode(res) ? ` ${errorCode(res)}` : ''}`);
        }
      if (problems.length > 0) return fail(problems.join('; '));
      const said = [...answers].map(([route, answer]) => `${route} ${answer}`).join(', ');
      return pass(
        `${INJECTIONS.length} SQL-injection strings went to the database as query parameters and came back ` +
          `unchanged; carried in a path and a query string, they were answered without a server or database ` +
          `error (${said})`,
      );
    },
  };
}

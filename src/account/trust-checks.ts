import { randomUUID } from 'node:crypto';
import type { TrustCheck, TrustProbe, TrustVerdict } from '../feature.js';
import type { Clock } from '../platform/clock.js';
import type { Tx } from '../platform/db/database.js';
import type { Session, SessionOps, SessionService } from '../sessions/index.js';
import { sessionJson } from './api.js';
import { accountSessionSteps } from './sessions.js';

type ProbeInit = NonNullable<Parameters<TrustProbe['request']>[1]>;

const API = { accept: 'application/json' };
const API_POST = { headers: { ...API, 'content-type': 'application/json' }, body: '{}' };
const FORM_POST = { headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: '' };

/** What a caller without a session may not reach: each must exist and refuse (401, or a redirect to sign in). */
const GUARDED: ReadonlyArray<{ method: string; path: () => string; html?: true } & Omit<ProbeInit, 'method'>> = [
  { method: 'GET', path: () => '/account/security', html: true, headers: { accept: 'text/html' } },
  { method: 'POST', path: () => `/account/sessions/${randomUUID()}/revoke`, html: true, ...FORM_POST },
  { method: 'POST', path: () => '/account/sessions/revoke-others', html: true, ...FORM_POST },
  { method: 'GET', path: () => '/api/v1/sessions', headers: API },
  { method: 'GET', path: () => '/api/v1/sign-in-history', headers: API },
  { method: 'DELETE', path: () => `/api/v1/sessions/${randomUUID()}`, headers: API },
  { method: 'POST', path: () => '/api/v1/sessions/revoke-others', ...API_POST },
];

async function routeProblem(probe: TrustProbe): Promise<string | undefined> {
  for (const { method, path: pathOf, html, headers, body } of GUARDED) {
    const path = pathOf();
    const res = await probe.request(path, { method, headers, body });
    const location = String(res.headers.location ?? '');
    const refused = html ? res.status === 303 && location.startsWith('/signin') : res.status === 401;
    if (res.status === 404) return `${method} ${path} does not exist (404)`;
    if (!refused) return `${method} ${path} without a session answered ${res.status}${location && ` to ${location}`}`;
  }
  return undefined;
}

/* Made-up devices from the documentation ranges (RFC 5737): what the listing must tell apart. */
const DEVICES = [
  {
    ip: '192.0.2.41',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0',
  },
  {
    ip: '198.51.100.42',
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  },
  {
    ip: '203.0.113.43',
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'Version/17.5 Mobile/15E148 Safari/604.1',
  },
] as const;

type Steps = ReturnType<typeof accountSessionSteps>;

/**
 * Three sign-ins of an existing account from three devices, then what the page and API do with them,
 * through the account's own steps; all in a sessions transaction that is rolled back.
 */
async function rehearse(tx: Tx, s: SessionOps, steps: Steps): Promise<TrustVerdict | string> {
  const userId = await s.someUser();
  if (!userId) return 'no one has signed in yet: no account to rehearse the listing on';
  const fail = (detail: string): TrustVerdict => ({ status: 'failing', detail });
  // One after another: each sign-in appends to the same audit stream in this transaction.
  const made: Array<{ token: string; session: Session }> = [];
  for (const context of DEVICES) made.push(await s.create(userId, { method: 'password', authLevel: 2, context }));
  const [here, other, third] = made as [(typeof made)[0], (typeof made)[0], (typeof made)[0]];

  const listed = (await s.list(userId)).map((x) => sessionJson(x, here.session));
  const shown = made.map((m) => listed.find((x) => x.id === m.session.id));
  for (const [i, row] of shown.entries()) {
    if (!row) return fail('a live session is missing from the list');
    if (row.ip !== DEVICES[i]!.ip) return fail(`a session's IP shows as ${row.ip}`);
    if (row.device.startsWith('Unknown')) return fail(`a known browser shows as "${row.device}"`);
    if (!row.lastSeenAt) return fail('a session shows no last-seen time');
  }
  if (new Set(shown.map((x) => x?.device)).size < DEVICES.length) return fail('different devices show as one');
  if (listed.filter((x) => x.current).length !== 1) return fail('the list does not mark exactly one session current');
  const history = await steps.history(tx, userId);
  const signIns = history.filter((e) => e.action === 'user.signed_in' && DEVICES.some((d) => d.ip === e.ip)).length;
  if (signIns < DEVICES.length) return fail(`the sign-in activity shows ${signIns} of ${DEVICES.length} sign-ins`);

  await steps.revoke(tx, s, here.session, other.session.id, DEVICES[0]);
  if (await s.resolve(other.token)) return fail('a session revoked by its owner still opens');
  if (!(await s.resolve(here.token))) return fail('revoking one session ended the current one too');
  const others = await steps.revokeOthers(tx, s, here.session, DEVICES[0]);
  if (await s.resolve(third.token)) return fail('a session still opens after "sign out all others"');
  if (!(await s.resolve(here.token))) return fail('"sign out all others" ended the current session too');
  if ((await s.list(userId)).some((x) => x.id !== here.session.id)) return fail('"sign out all others" left one live');
  return {
    status: 'passing',
    detail:
      `rehearsed on an existing account and rolled back: ${DEVICES.length} sign-ins from ${DEVICES.length} devices ` +
      'listed with device name, IP and last seen, and in the sign-in activity; revoking one ended only it; ' +
      `"all others" ended ${others}; the page and API refuse a caller without a session (${GUARDED.length} routes)`,
  };
}

/** S4: the sessions page and API are there for their owner only, and what they list and revoke is real. */
export function accountTrustChecks(deps: { sessions: SessionService; clock: Clock }): readonly TrustCheck[] {
  const steps = accountSessionSteps(deps.clock);
  return [
    {
      control: 'S4',
      id: 'account-sessions',
      title:
        'A person sees their sessions (device, IP, last seen) and sign-in activity, and can revoke one or all others',
      async run(probe) {
        const missing = await routeProblem(probe);
        if (missing) return { status: 'failing', detail: missing };
        const verdict = await deps.sessions.rehearse((tx, s) => rehearse(tx, s, steps));
        if (typeof verdict === 'string')
          return {
            status: 'not_configured',
            detail: `${verdict}; the page and API refuse a caller without a session (${GUARDED.length} routes)`,
          };
        return verdict;
      },
    },
  ];
}

import { randomBytes } from 'node:crypto';
import type { TrustCheck, TrustProbe, TrustVerdict } from '../feature.js';
import type { EventBus } from '../platform/events/bus.js';
import { SESSION_COOKIE } from './http.js';
import { DAY, type SessionPolicy } from './model.js';
import type { SessionOps, SessionService } from './service.js';

type Response = Awaited<ReturnType<TrustProbe['request']>>;

/** S1: what is wrong with the session cookie a response sets (undefined: nothing). */
export function sessionCookieProblem(res: Response, name = SESSION_COOKIE): string | undefined {
  const raw = res.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  if (!line) return `the response set no ${name} cookie`;
  const attrs = line
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());
  const has = (a: string) => attrs.includes(a);
  if (!name.startsWith('__Host-')) return 'the cookie name lacks the __Host- prefix (pinned to this host)';
  if (!has('httponly')) return 'the session cookie is not HttpOnly';
  if (!has('secure')) return 'the session cookie is not Secure';
  if (!has('path=/')) return 'the session cookie is not Path=/';
  if (attrs.some((a) => a.startsWith('domain='))) return 'the session cookie names a Domain';
  if (!has('samesite=lax') && !has('samesite=strict')) return 'the session cookie is not SameSite=Lax or Strict';
  return undefined;
}

const PROBE_CHANNEL = 'rampart_trust_s3';
const ECHO_WAIT_MS = 3000;

/** A message published on the bus comes back to a subscriber (the path a revocation takes): in how many ms. */
async function busRoundTrip(bus: EventBus): Promise<number> {
  const nonce = randomBytes(16).toString('hex');
  const started = performance.now();
  let unsubscribe: (() => Promise<void>) | undefined;
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  const echo = new Promise<void>((resolve, reject) => {
    bus
      .subscribe(PROBE_CHANNEL, (message) => {
        if (message === nonce) resolve();
      })
      .then((off) => {
        unsubscribe = off;
        if (over) return off(); // subscribed only after the deadline: leave nothing behind
        return bus.publish(PROBE_CHANNEL, nonce);
      })
      .catch(reject);
  });
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no echo within ${ECHO_WAIT_MS / 1000} s`)), ECHO_WAIT_MS);
  });
  try {
    await Promise.race([echo, deadline]);
    return Math.round(performance.now() - started);
  } finally {
    over = true;
    clearTimeout(timer);
    await unsubscribe?.().catch(() => {});
  }
}

/** What is wrong after `what` replaced oldToken by newToken (undefined: the swap happened, on the same session). */
async function swapProblem(
  s: SessionOps,
  swap: { what: string; oldToken: string; newToken: string; sessionId: string; userId: string },
): Promise<string | undefined> {
  const { what, oldToken, newToken, sessionId, userId } = swap;
  if (newToken === oldToken) return `${what} kept the same identifier`;
  if (await s.resolve(oldToken)) return `after ${what} the old identifier still opens the session`;
  const fresh = await s.resolve(newToken);
  if (!fresh) return `after ${what} the new identifier opens no session`;
  if (fresh.id !== sessionId || fresh.userId !== userId)
    return `after ${what} the new identifier opens another session`;
  return undefined;
}

const PROBE_CONTEXT = { ip: '192.0.2.1', userAgent: 'Rampart trust check (S2)' };

/**
 * S2, rehearsed in a transaction that is rolled back: a sign-in of an existing account, its second
 * factor when the account has one, and a step-up, each through the service's own functions.
 */
async function rehearseRotation(s: SessionOps): Promise<TrustVerdict> {
  const userId = await s.someUser();
  if (!userId) return { status: 'not_configured', detail: 'No one has signed in yet: no account to rehearse on.' };
  const context = PROBE_CONTEXT;
  const started = await s.create(userId, { method: 'password', authLevel: 1, context });
  const sessionId = started.session.id;
  if (!(await s.resolve(started.token))) return { status: 'failing', detail: 'a new session opens with no identifier' };
  const steps = ['a sign-in got a fresh identifier'];
  let token = started.token;
  if (started.session.secondFactorPending) {
    const done = await s.completeSignIn(sessionId, 'totp', context);
    const what = 'the second factor of a sign-in';
    const problem = await swapProblem(s, { what, oldToken: token, newToken: done.token, sessionId, userId });
    if (problem) return { status: 'failing', detail: problem };
    steps.push('its second factor replaced it');
    token = done.token;
  }
  const stepped = await s.rotate(sessionId, { reason: 'step_up', authLevel: 2, factor: 'totp', context });
  const problem = await swapProblem(s, { what: 'a step-up', oldToken: token, newToken: stepped, sessionId, userId });
  if (problem) return { status: 'failing', detail: problem };
  if ((await s.resolve(stepped))?.authLevel !== 2)
    return { status: 'failing', detail: 'a step-up did not raise the level' };
  steps.push('a step-up replaced it');
  return {
    status: 'passing',
    detail:
      `rehearsed on an existing account and rolled back: ${steps.join('; ')}; ` +
      'each time the old identifier stopped working and the new one opened the same session of the same user',
  };
}

export function sessionChecks(deps: { policy: SessionPolicy; bus: EventBus }): TrustCheck[] {
  return [
    {
      control: 'S1',
      id: 'session-cookie',
      title: 'The session cookie is __Host-, HttpOnly, Secure and SameSite=Lax',
      async run(probe) {
        // A made-up identifier: the instance knows no such session and clears the cookie, with its attributes.
        const res = await probe.request('/signin', {
          headers: { cookie: `${SESSION_COOKIE}=${randomBytes(32).toString('base64url')}`, accept: 'text/html' },
        });
        const problem = sessionCookieProblem(res);
        if (problem) return { status: 'failing', detail: problem };
        return {
          status: 'passing',
          detail: `${SESSION_COOKIE}: HttpOnly, Secure, Path=/, no Domain, SameSite=Lax (an unknown one is cleared)`,
        };
      },
    },
    {
      control: 'S3',
      id: 'session-expiry-and-revocation',
      title: 'Sessions end after 30 days idle and at an absolute maximum; a revocation reaches every instance at once',
      async run() {
        const { idleMs, absoluteMs } = deps.policy;
        if (idleMs > 30 * DAY) return { status: 'failing', detail: `sessions stay idle for ${idleMs / DAY} days` };
        if (!(absoluteMs > 0 && absoluteMs >= idleMs && Number.isFinite(absoluteMs)))
          return { status: 'failing', detail: 'sessions have no absolute maximum' };
        let ms: number;
        try {
          ms = await busRoundTrip(deps.bus);
        } catch (err) {
          return {
            status: 'failing',
            detail: `the ${deps.bus.kind} events channel of revocations did not answer: ${(err as Error).message}`,
          };
        }
        return {
          status: 'passing',
          detail:
            `idle ${idleMs / DAY} days, absolute ${absoluteMs / DAY} days; a message on the ${deps.bus.kind} events ` +
            `channel (revocations take it) came back in ${ms} ms`,
        };
      },
    },
  ];
}

export function rotationCheck(sessions: SessionService): TrustCheck {
  return {
    control: 'S2',
    id: 'session-id-rotation',
    title: 'A session gets a new identifier at sign-in and at every step-up; the old one stops working at once',
    run: () => sessions.rehearse((_tx, s) => rehearseRotation(s)),
  };
}

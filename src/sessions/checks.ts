import { randomBytes } from 'node:crypto';
import type { TrustCheck, TrustProbe } from '../feature.js';
import type { EventBus } from '../platform/events/bus.js';
import { SESSION_COOKIE } from './http.js';
import { DAY, type SessionPolicy } from './model.js';

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

import { randomBytes } from 'node:crypto';
import type { TrustCheck, TrustProbe } from '../feature.js';
import { SESSION_COOKIE } from './http.js';

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

export function sessionChecks(): TrustCheck[] {
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
  ];
}

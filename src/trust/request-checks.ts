import type { TrustCheck, TrustVerdict } from '../feature.js';
import { cookiesOf, header, type ProbeResponse, type SelfProbe } from './probe.js';

/* R1, R2, R5 and R6, each from real requests to this instance (platform-level protections). */

const pass = (detail: string): TrustVerdict => ({ status: 'passing', detail });
const fail = (detail: string): TrustVerdict => ({ status: 'failing', detail });

const errorCode = (res: ProbeResponse): string | undefined => {
  try {
    return (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
};

export function csrfCheck(probe: () => SelfProbe, baseUrl: string, path = '/signin'): TrustCheck {
  return {
    control: 'R1',
    id: 'csrf-refused',
    title: 'A form post that carries our cookie but no CSRF token is refused',
    async run() {
      const form = await probe().request(path, { headers: { accept: 'text/html' } });
      const cookie = cookiesOf(form.headers)
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      if (!cookie) return fail(`GET ${path} set no cookie to send back`);
      const res = await probe().request(path, {
        method: 'POST',
        headers: {
          cookie,
          origin: new URL(baseUrl).origin,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'email=trust-check%40example.invalid&password=not-a-password',
      });
      if (res.status !== 403 || errorCode(res) !== 'csrf_failed')
        return fail(`POST ${path} with a cookie and no token answered ${res.status} ${errorCode(res) ?? ''}`.trim());
      return pass(`POST ${path} with the cookie and no token: 403 csrf_failed`);
    },
  };
}

const SAFE_REFERRER = new Set(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);

/** R2: what is wrong with a page response's security headers (an empty list: nothing). */
export function headerProblems(res: ProbeResponse): string[] {
  const problems: string[] = [];
  const csp = header(res.headers, 'content-security-policy') ?? '';
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values] as const),
  );
  const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
  if (!csp) problems.push('no Content-Security-Policy');
  else if (!scriptSrc) problems.push('the CSP limits no scripts (no script-src or default-src)');
  else {
    if (scriptSrc.some((v) => /^'unsafe-(inline|eval)'$/i.test(v) || v === '*'))
      problems.push(`the CSP allows ${scriptSrc.join(' ')}`);
    const nonces = new Set(scriptSrc.filter((v) => v.startsWith("'nonce-")).map((v) => v.slice(7, -1)));
    const scripts = [...res.body.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
    if (nonces.size === 0) problems.push('the page CSP carries no script nonce');
    const unnonced = scripts.filter((s) => !nonces.has(/\snonce="([^"]+)"/.exec(s)?.[1] ?? ''));
    if (unnonced.length > 0) problems.push(`${unnonced.length} script element(s) without the response's nonce`);
  }
  const ancestors = directives.get('frame-ancestors');
  const xfo = (header(res.headers, 'x-frame-options') ?? '').toUpperCase();
  if (!(ancestors && ancestors.join(' ') === "'none'") && xfo !== 'DENY' && xfo !== 'SAMEORIGIN')
    problems.push("framing is not refused (frame-ancestors 'none' or X-Frame-Options)");
  if (header(res.headers, 'x-content-type-options')?.toLowerCase() !== 'nosniff')
    problems.push('X-Content-Type-Options is not nosniff');
  if (!SAFE_REFERRER.has((header(res.headers, 'referrer-policy') ?? '').toLowerCase()))
    problems.push(`Referrer-Policy is "${header(res.headers, 'referrer-policy') ?? ''}"`);
  const permissions = header(res.headers, 'permissions-policy') ?? '';
  for (const feature of ['camera', 'microphone', 'geolocation'])
    if (!new RegExp(`(^|,)\\s*${feature}=\\(\\)`).test(permissions))
      problems.push(`Permissions-Policy leaves ${feature} on`);
  if (header(res.headers, 'cross-origin-opener-policy')?.toLowerCase() !== 'same-origin')
    problems.push('Cross-Origin-Opener-Policy is not same-origin');
  return problems;
}

export function headersCheck(probe: () => SelfProbe, path = '/signin'): TrustCheck {
  return {
    control: 'R2',
    id: 'security-headers',
    title: 'Pages carry a nonce-based CSP and the framing, sniffing, referrer, permissions and opener headers',
    async run() {
      const res = await probe().request(path, { headers: { accept: 'text/html' } });
      if (res.status !== 200) return fail(`GET ${path} answered ${res.status}`);
      const problems = headerProblems(res);
      if (problems.length > 0) return fail(`GET ${path}: ${problems.join('; ')}`);
      return pass(
        `GET ${path}: CSP with a per-response nonce and no unsafe-inline; framing refused; nosniff; ` +
          `Referrer-Policy ${header(res.headers, 'referrer-policy')}; Permissions-Policy; COOP same-origin`,
      );
    },
  };
}

/** R5/R6: a refusal carries a stable code and the request id, and nothing of the server's insides. */
export function refusalProblem(res: ProbeResponse, status: number, code: string): string | undefined {
  let body: { error?: { code?: unknown; requestId?: unknown } };
  try {
    body = JSON.parse(res.body);
  } catch {
    return `answered ${res.status} without a JSON error`;
  }
  if (res.status !== status || body.error?.code !== code)
    return `answered ${res.status} ${String(body.error?.code ?? '')}, not ${status} ${code}`;
  const id = header(res.headers, 'x-request-id');
  if (!id || body.error.requestId !== id) return 'the error does not carry the request id of its response';
  if (/\bat\s+\S+\s+\(|\bstack\b|node_modules|\/src\//i.test(res.body)) return 'the error shows server internals';
  return undefined;
}

export function inputChecks(probe: () => SelfProbe, path = '/api/v1/signup'): TrustCheck[] {
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  return [
    {
      control: 'R5',
      id: 'input-unknown-field',
      title: 'A request with a field its schema does not name is refused with invalid_request',
      async run() {
        const res = await probe().request(path, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email: 'trust-check@example.invalid', password: 'x'.repeat(20), isAdmin: true }),
        });
        const problem = refusalProblem(res, 400, 'invalid_request');
        return problem
          ? fail(`POST ${path} with an unknown field ${problem}`)
          : pass(`POST ${path} with an unknown field: 400 invalid_request`);
      },
    },
    {
      control: 'R5',
      id: 'input-oversize',
      title: 'An oversize request body is refused with payload_too_large',
      async run() {
        const res = await probe().request(path, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email: 'trust-check@example.invalid', password: 'x'.repeat(200 * 1024) }),
        });
        const problem = refusalProblem(res, 413, 'payload_too_large');
        return problem
          ? fail(`POST ${path} with 200 KiB ${problem}`)
          : pass(`POST ${path} with 200 KiB: 413 payload_too_large`);
      },
    },
    {
      control: 'R6',
      id: 'error-shape',
      title: 'Errors give a stable code and the request id, never a stack trace',
      async run() {
        const res = await probe().request(path, { method: 'POST', headers: json, body: '{"email":' });
        const problem = refusalProblem(res, 400, 'invalid_json');
        return problem
          ? fail(`POST ${path} with broken JSON ${problem}`)
          : pass(`POST ${path} with broken JSON: 400 invalid_json with its request id, no internals`);
      },
    },
  ];
}

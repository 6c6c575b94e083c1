import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export interface ClientOptions {
  ip?: string;
  userAgent?: string;
  origin?: string;
}

/**
 * A cookie-keeping client over Fastify's inject, behaving like a same-origin browser: it sends
 * Origin, keeps cookies (honouring deletions), and fetches a CSRF token when asked.
 */
let clients = 0;

export class TestClient {
  readonly cookies = new Map<string, string>();
  /** Each client is its own address unless told otherwise, as separate people would be (per-IP limits). */
  readonly ip: string;

  constructor(
    private readonly app: FastifyInstance,
    private readonly opts: ClientOptions = {},
  ) {
    clients++;
    this.ip = opts.ip ?? `198.18.${(clients >> 8) & 255}.${clients & 255}`;
  }

  private origin(): string {
    return this.opts.origin ?? 'http://localhost:3000';
  }

  cookieHeader(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  private keep(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; expires?: Date; maxAge?: number }>) {
      const expired = (c.expires && c.expires.getTime() <= Date.now()) || c.maxAge === 0 || c.value === '';
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  async request(opts: {
    method?: string;
    url: string;
    payload?: unknown;
    headers?: Record<string, string>;
    form?: Record<string, string>;
  }): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = {
      'user-agent':
        this.opts.userAgent ??
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      ...opts.headers,
    };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    const method = (opts.method ?? 'GET').toUpperCase();
    // Same-origin browsers send Origin on every POST; a test passes `origin: undefined` to leave it out.
    if (method !== 'GET' && !(opts.headers && 'origin' in opts.headers)) headers.origin = this.origin();
    for (const [k, v] of Object.entries(headers)) if (v === undefined) delete headers[k];
    let payload = opts.payload as string | object | undefined;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(opts.form).toString();
    }
    const res = await this.app.inject({
      method: method as 'GET',
      url: opts.url,
      payload,
      headers,
      remoteAddress: this.ip,
    });
    this.keep(res);
    return res;
  }

  async csrf(): Promise<string> {
    const res = await this.request({ url: '/api/v1/csrf-token' });
    return res.json().token as string;
  }

  /** A JSON API call carrying the CSRF header, as a page script would. */
  async api(method: string, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
    const token = method === 'GET' ? undefined : await this.csrf();
    return this.request({ method, url, payload, headers: token ? { 'x-csrf-token': token } : {} });
  }

  /** A page, as a browser asks for it (refusals redirect instead of answering JSON). */
  async page(url: string): Promise<LightMyRequestResponse> {
    return this.request({ url, headers: { accept: 'text/html' } });
  }

  /** A form post from a page, as a browser sends it (with the CSRF field; refusals redirect). */
  async form(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.request({
      method: 'POST',
      url,
      form: { ...fields, _csrf: await this.csrf() },
      headers: { accept: 'text/html' },
    });
  }

  /** A form post with the CSRF field, as the server-rendered pages do. */
  async submit(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.request({ method: 'POST', url, form: { ...fields, _csrf: await this.csrf() } });
  }
}

/** The first link in a mail's text that points at `path`, and its token. */
export function linkIn(text: string, path: string): { url: string; token: string } {
  const match = new RegExp(`https?://[^\\s]*${path.replace(/[/]/g, '\\/')}\\?token=([A-Za-z0-9_-]+)`).exec(text);
  if (!match) throw new Error(`no ${path} link in: ${text}`);
  return { url: match[0], token: match[1]! };
}

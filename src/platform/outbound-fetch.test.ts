import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { makeCertificate } from '../../test/helpers/certificates.js';
import { addressProblem, createOutboundFetch, OutboundError, type OutboundPolicy } from './outbound-fetch.js';

/* T3 and D1, the SSRF suite: real HTTPS servers on loopback; names resolve through an injected resolver. */

const cert = makeCertificate('ec', ['localhost', 'api.test', 'other.test', '127.0.0.1']);
const foreign = makeCertificate(); // self-signed, never trusted here
const otherName = makeCertificate('ec', ['elsewhere.test']);

interface Seen {
  path: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  local: string;
}
const seen: Seen[] = [];
const closed: Promise<void>[] = [];

const routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
  '/ok': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}'),
  '/same': (_req, res) => res.writeHead(302, { location: '/ok?after=redirect' }).end(),
  '/see-other': (_req, res) => res.writeHead(303, { location: '/ok' }).end(),
  '/keep': (_req, res) => res.writeHead(307, { location: '/ok' }).end(),
  '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/other-host': (_req, res) => res.writeHead(302, { location: `https://other.test:${port()}/ok` }).end(),
  '/other-port': (_req, res) => res.writeHead(302, { location: `https://api.test:${plainPort()}/ok` }).end(),
  '/other-scheme': (_req, res) => res.writeHead(302, { location: `http://api.test:${port()}/ok` }).end(),
  '/secret-redirect': (_req, res) =>
    res.writeHead(302, { location: 'https://evil.test/?key=sk_redirect_SECRET' }).end(),
  '/big': (_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const more = () => {
      while (sent < 64) {
        sent++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  },
  '/declared-big': (_req, res) => {
    res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
    res.write('x');
  },
  '/silent': () => {},
  '/drip': (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('.'), 50);
    res.on('close', () => clearInterval(timer));
  },
  '/not-json': (_req, res) => res.writeHead(200).end('<html>sk_body_SECRET</html>'),
};

function handler(req: http.IncomingMessage, res: http.ServerResponse) {
  const socket: Socket = req.socket;
  closed.push(new Promise((r) => socket.once('close', () => r())));
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'https://x');
    seen.push({
      path: url.pathname + url.search,
      method: req.method ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
      local: socket.localAddress ?? '',
    });
    (routes[url.pathname] ?? ((_q, s) => s.writeHead(404).end()))(req, res);
  });
}

async function listen<S extends http.Server | https.Server>(server: S): Promise<S> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}
const good = await listen(https.createServer({ cert: cert.cert, key: cert.key }, handler));
const untrusted = await listen(https.createServer({ cert: foreign.cert, key: foreign.key }, handler));
const misnamed = await listen(https.createServer({ cert: otherName.cert, key: otherName.key }, handler));
const plain = await listen(http.createServer(handler));
const portOf = (s: http.Server) => (s.address() as AddressInfo).port;
const port = () => portOf(good);
const plainPort = () => portOf(plain);
const nobody = await (async () => {
  const s = await listen(http.createServer());
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
})();

afterAll(async () => {
  for (const s of [good, untrusted, misnamed, plain]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

beforeEach(() => {
  seen.length = 0;
});

const names: Record<string, string[]> = {
  localhost: ['127.0.0.1'],
  'api.test': ['127.0.0.1'],
  'other.test': ['127.0.0.1'],
  'ten.test': ['10.0.0.5'],
  'metadata.test': ['169.254.169.254'],
  'six.test': ['::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['93.184.216.34', '10.0.0.5'],
  'public.test': ['93.184.216.34'],
};
let lookups: string[] = [];
const resolve: OutboundPolicy['resolve'] = async (host) => {
  lookups.push(host);
  const found = names[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
};
beforeEach(() => {
  lookups = [];
});

const api = () => `https://api.test:${port()}`;
const policy = (over: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  allowedHosts: [`api.test:${port()}`, `other.test:${port()}`, `localhost:${port()}`],
  dev: true,
  ca: [cert.cert, otherName.cert],
  resolve,
  ...over,
});

async function refusal(work: Promise<unknown>): Promise<OutboundError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
}

describe('outbound fetch: where it may go', () => {
  it('[T3] [D1] a vetted request answers, with the name as Host and the caller Host header dropped', async () => {
    const res = await createOutboundFetch(policy())(`${api()}/ok`, {
      headers: { authorization: 'Bearer k', host: 'evil.test' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ hello: 'world' });
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.url).toBe(`${api()}/ok`);
    expect(seen.map((s) => [s.headers.host, s.headers.authorization])).toEqual([[`api.test:${port()}`, 'Bearer k']]);
    expect(lookups).toEqual(['api.test']);
  });

  it('[T3] a host not in allowedHosts is refused before any lookup', async () => {
    const fetch = createOutboundFetch(policy());
    for (const url of ['https://evil.test/', `https://api.test:${port() + 1}/`, 'https://api.test/']) {
      const err = await refusal(fetch(url));
      expect(err.code).toBe('host_not_allowed');
    }
    expect(lookups).toEqual([]);
    const ok = createOutboundFetch(policy({ allowedHosts: [`API.TEST:${port()}`] }));
    expect((await ok(`${api()}/ok`)).status).toBe(200);
  });

  it('[T3] names resolving to loopback, private, metadata or ::1 are refused outside dev, unconnected', async () => {
    const cases: [string, string][] = [
      ['api.test', 'loopback'],
      ['ten.test', 'private'],
      ['metadata.test', 'cloud metadata'],
      ['six.test', 'loopback'],
      ['mapped.test', 'loopback'],
    ];
    for (const [name, why] of cases) {
      const fetch = createOutboundFetch(policy({ dev: false, allowedHosts: [`${name}:${port()}`] }));
      const err = await refusal(fetch(`https://${name}:${port()}/ok`));
      expect({ name, code: err.code, host: err.host }).toEqual({
        name,
        code: 'blocked_address',
        host: `${name}:${port()}`,
      });
      expect(err.message).toContain(why);
    }
    expect(seen).toEqual([]);
    // In dev only loopback opens up: private and metadata stay closed.
    for (const name of ['ten.test', 'metadata.test']) {
      const fetch = createOutboundFetch(policy({ allowedHosts: [`${name}:${port()}`] }));
      expect((await refusal(fetch(`https://${name}:${port()}/ok`))).code).toBe('blocked_address');
    }
  });

  it('[T3] a name with a public and a private address is refused', async () => {
    const fetch = createOutboundFetch(policy({ dev: false, allowedHosts: ['mixed.test'] }));
    const err = await refusal(fetch('https://mixed.test/'));
    expect(err.code).toBe('blocked_address');
    expect(err.message).toContain('10.0.0.5');
  });

  it('[T3] literal addresses are vetted too: [::1], 169.254.169.254, ::ffff:127.0.0.1, 10.0.0.5', async () => {
    const literals = [
      'https://[::1]/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::ffff:127.0.0.1]/',
      `https://127.0.0.1:${port()}/ok`,
      'https://10.0.0.5/',
      'https://[fd00:ec2::254]/',
      'https://[64:ff9b::a9fe:a9fe]/',
    ];
    for (const url of literals) {
      const host = new URL(url).host;
      const fetch = createOutboundFetch(policy({ dev: false, allowedHosts: [host] }));
      const err = await refusal(fetch(url));
      expect({ url, code: err.code }).toEqual({ url, code: 'blocked_address' });
    }
    // Written as people write them: dotted tail, or an IPv6 address without brackets.
    const written = createOutboundFetch(policy({ dev: false, allowedHosts: ['[::ffff:127.0.0.1]', '::1'] }));
    expect((await refusal(written('https://[::ffff:127.0.0.1]/'))).code).toBe('blocked_address');
    expect((await refusal(written('https://[::1]/'))).code).toBe('blocked_address');
    expect(lookups).toEqual([]);
    expect(seen).toEqual([]);
    const dev = createOutboundFetch(policy({ allowedHosts: [`127.0.0.1:${port()}`] }));
    expect((await dev(`https://127.0.0.1:${port()}/ok`)).status).toBe(200); // the IP SAN, in dev
  });

  it('[T3] http:// is refused outside dev; in dev only to loopback', async () => {
    const loop = `http://localhost:${plainPort()}/ok`;
    const strict = createOutboundFetch(policy({ dev: false, allowedHosts: [`localhost:${plainPort()}`] }));
    expect((await refusal(strict(loop))).code).toBe('insecure_scheme');
    const dev = createOutboundFetch(
      policy({ allowedHosts: [`localhost:${plainPort()}`, `api.test:${plainPort()}`, 'public.test:80'] }),
    );
    expect((await dev(loop)).status).toBe(200);
    expect((await refusal(dev(`http://api.test:${plainPort()}/ok`))).code).toBe('insecure_scheme');
    expect((await refusal(dev('http://public.test/'))).code).toBe('insecure_scheme');
    for (const url of ['ftp://api.test/', 'file:///etc/passwd', 'javascript:alert(1)']) {
      expect((await refusal(dev(url))).code).toBe('insecure_scheme');
    }
    expect(seen.length).toBe(1);
  });

  it('[T3] the system resolver is the default (localhost in dev)', async () => {
    const fetch = createOutboundFetch(policy({ resolve: undefined }));
    expect((await fetch(`https://localhost:${port()}/ok`)).status).toBe(200);
    const strict = createOutboundFetch(policy({ resolve: undefined, dev: false }));
    expect((await refusal(strict(`https://localhost:${port()}/ok`))).code).toBe('blocked_address');
  });

  it('[T3] DNS rebinding: one lookup per connection, and the connection goes to the vetted address', async () => {
    let calls = 0;
    const rebinding: OutboundPolicy['resolve'] = async () => {
      calls++;
      return [{ address: calls === 1 ? '127.0.0.1' : '10.0.0.5', family: 4 }];
    };
    const fetch = createOutboundFetch(policy({ resolve: rebinding }));
    const res = await fetch(`${api()}/ok`);
    expect(res.status).toBe(200);
    expect(calls).toBe(1);
    expect(seen.map((s) => s.local)).toEqual(['127.0.0.1']);
    // The next request looks up again, gets the rebound answer, and is refused.
    expect((await refusal(fetch(`${api()}/ok`))).code).toBe('blocked_address');
    expect(calls).toBe(2);
    expect(seen.length).toBe(1);
  });
});

describe('outbound fetch: redirects', () => {
  it('[T3] a same-host redirect is followed, Authorization resent, one lookup per connection', async () => {
    const res = await createOutboundFetch(policy())(`${api()}/same`, { headers: { authorization: 'Bearer k' } });
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${api()}/ok?after=redirect`);
    expect(seen.map((s) => [s.path, s.headers.authorization])).toEqual([
      ['/same', 'Bearer k'],
      ['/ok?after=redirect', 'Bearer k'],
    ]);
    expect(lookups).toEqual(['api.test', 'api.test']);
  });

  it('[T3] 303 continues as GET without the body; 307 keeps method and body', async () => {
    const fetch = createOutboundFetch(policy());
    const init = { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } };
    expect((await fetch(`${api()}/see-other`, init)).status).toBe(200);
    expect((await fetch(`${api()}/keep`, init)).status).toBe(200);
    expect(seen.map((s) => [s.path, s.method, s.body, s.headers['content-type']])).toEqual([
      ['/see-other', 'POST', '{"a":1}', 'application/json'],
      ['/ok', 'GET', '', undefined],
      ['/keep', 'POST', '{"a":1}', 'application/json'],
      ['/ok', 'POST', '{"a":1}', 'application/json'],
    ]);
  });

  it('[T3] a redirect to another host, port or scheme is refused, even to an allowed host', async () => {
    const fetch = createOutboundFetch(policy({ allowedHosts: [...policy().allowedHosts, `api.test:${plainPort()}`] }));
    for (const path of ['/other-host', '/other-port', '/other-scheme']) {
      const err = await refusal(fetch(`${api()}${path}`, { headers: { authorization: 'Bearer k' } }));
      expect({ path, code: err.code, host: err.host }).toEqual({
        path,
        code: 'redirect_refused',
        host: `api.test:${port()}`,
      });
    }
    expect(seen.map((s) => s.path)).toEqual(['/other-host', '/other-port', '/other-scheme']);
  });

  it('[T3] more than maxRedirects is refused', async () => {
    const err = await refusal(createOutboundFetch(policy({ maxRedirects: 2 }))(`${api()}/loop`));
    expect(err.code).toBe('too_many_redirects');
    expect(seen.length).toBe(3);
  });
});

describe('outbound fetch: limits and certificates', () => {
  it('[T3] a response over maxResponseBytes is aborted, streamed or declared', async () => {
    const fetch = createOutboundFetch(policy({ maxResponseBytes: 100_000 }));
    closed.length = 0;
    expect((await refusal(fetch(`${api()}/big`))).code).toBe('response_too_large');
    expect((await refusal(fetch(`${api()}/declared-big`))).code).toBe('response_too_large');
    await Promise.all(closed); // the server saw both connections closed: nothing kept reading
    const roomy = createOutboundFetch(policy({ maxResponseBytes: 64 * 64 * 1024 }));
    expect((await roomy(`${api()}/big`)).body.length).toBe(64 * 64 * 1024);
  });

  it('[T3] a slow server times out, before headers or while dripping the body; the socket is closed', async () => {
    const fetch = createOutboundFetch(policy({ timeoutMs: 300 }));
    for (const path of ['/silent', '/drip']) {
      closed.length = 0;
      const started = performance.now();
      const err = await refusal(fetch(`${api()}${path}`));
      expect({ path, code: err.code }).toEqual({ path, code: 'timeout' });
      expect(performance.now() - started).toBeLessThan(2_000);
      await Promise.all(closed);
    }
  });

  it('[T3] the time limit covers name resolution too', async () => {
    const hanging: OutboundPolicy['resolve'] = () => new Promise(() => {});
    const err = await refusal(createOutboundFetch(policy({ resolve: hanging, timeoutMs: 200 }))(`${api()}/ok`));
    expect(err.code).toBe('timeout');
  });

  it('[T3] a self-signed certificate that is not trusted fails TLS', async () => {
    const url = `https://api.test:${portOf(untrusted)}/ok`;
    const hosts = [`api.test:${portOf(untrusted)}`];
    for (const ca of [cert.cert, undefined]) {
      const err = await refusal(createOutboundFetch(policy({ allowedHosts: hosts, ca }))(url));
      expect(err.code).toBe('tls_failed');
    }
    expect(seen).toEqual([]);
  });

  it('[T3] a trusted certificate for another name fails TLS; the name, not the address, is checked', async () => {
    const p = portOf(misnamed);
    const both = { 'api.test': ['127.0.0.1'], 'elsewhere.test': ['127.0.0.1'] } as Record<string, string[]>;
    const fetch = createOutboundFetch(
      policy({
        allowedHosts: [`api.test:${p}`, `elsewhere.test:${p}`],
        resolve: async (h) => (both[h] ?? []).map((address) => ({ address, family: 4 as const })),
      }),
    );
    const err = await refusal(fetch(`https://api.test:${p}/ok`));
    expect(err.code).toBe('tls_failed');
    expect(seen).toEqual([]);
    expect((await fetch(`https://elsewhere.test:${p}/ok`)).status).toBe(200);
  });

  it('[T3] nothing listening is connect_failed; a name that does not resolve is dns_failed', async () => {
    const fetch = createOutboundFetch(policy({ allowedHosts: [`api.test:${nobody}`, 'nowhere.test'] }));
    expect((await refusal(fetch(`https://api.test:${nobody}/`))).code).toBe('connect_failed');
    expect((await refusal(fetch('https://nowhere.test/'))).code).toBe('dns_failed');
    const system = createOutboundFetch(policy({ resolve: undefined, allowedHosts: ['name.invalid'] }));
    expect((await refusal(system('https://name.invalid/'))).code).toBe('dns_failed');
  });
});

describe('outbound fetch: secrets stay out of errors', () => {
  const query = 'sk_query_SECRET';
  const header = 'sk_header_SECRET';
  const body = 'sk_body_SECRET';
  const secrets = [query, header, body, 'sk_redirect_SECRET', '/private/path'];

  function expectClean(err: OutboundError) {
    const views = [
      err.message,
      err.stack ?? '',
      JSON.stringify(err),
      inspect(err, { showHidden: true, depth: 10 }),
      String(err),
    ];
    for (const view of views) for (const secret of secrets) expect(view).not.toContain(secret);
    expect(Object.keys(err).sort()).toEqual(['code', 'host', 'name']);
    expect('cause' in err).toBe(false);
  }

  it('[D1] [T3] a key in the query string, a header or the body appears in no error, whatever failed', async () => {
    const init = { method: 'POST', headers: { 'x-api-key': header, authorization: `Bearer ${header}` }, body };
    const at = (base: string, path = '/private/path') => `${base}${path}?api_key=${query}`;
    const cases: [string, OutboundPolicy, string][] = [
      ['invalid_url', policy(), `https://[nope${query}/private/path`],
      ['insecure_scheme', policy(), at(`http://api.test:${port()}`)],
      ['host_not_allowed', policy(), at('https://evil.test')],
      ['blocked_address', policy({ dev: false }), at(api())],
      ['redirect_refused', policy(), at(api(), '/secret-redirect')],
      ['too_many_redirects', policy({ maxRedirects: 0 }), at(api(), '/same')],
      ['response_too_large', policy({ maxResponseBytes: 10 }), at(api(), '/big')],
      ['timeout', policy({ timeoutMs: 200 }), at(api(), '/silent')],
      [
        'tls_failed',
        policy({ allowedHosts: [`api.test:${portOf(untrusted)}`] }),
        at(`https://api.test:${portOf(untrusted)}`),
      ],
      ['dns_failed', policy({ allowedHosts: ['nowhere.test'] }), at('https://nowhere.test')],
      ['connect_failed', policy({ allowedHosts: [`api.test:${nobody}`] }), at(`https://api.test:${nobody}`)],
    ];
    for (const [code, p, url] of cases) {
      const err = await refusal(createOutboundFetch(p)(url, init));
      expect({ url, code: err.code }).toEqual({ url, code });
      expectClean(err);
    }
    const badHeader = await refusal(
      createOutboundFetch(policy())(`${api()}/ok`, { headers: { 'x-key': `${header}\r\n` } }),
    );
    expectClean(badHeader);
  });

  it('[D1] json() on a body that is not JSON does not quote the body', async () => {
    const res = await createOutboundFetch(policy())(`${api()}/not-json`);
    let message = '';
    try {
      res.json();
    } catch (err) {
      message = inspect(err);
    }
    expect(message).toContain('not valid JSON');
    expect(message).not.toContain(body);
  });
});

describe('addressProblem', () => {
  it('[T3] judges every blocked range, IPv4 inside IPv6 by its IPv4, and opens only loopback in dev', () => {
    const blocked = [
      '0.1.2.3',
      '10.0.0.5',
      '100.64.0.1',
      '127.0.0.1',
      '127.255.0.9',
      '169.254.169.254',
      '169.254.1.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.168.1.1',
      '198.18.0.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fc00::1',
      'fd00:ec2::254',
      'fe80::1',
      'fe80::1%eth0',
      'ff02::1',
      '2001:db8::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.5',
      '::ffff:169.254.169.254',
      '::127.0.0.1',
      '64:ff9b::10.0.0.5',
      '64:ff9b::a9fe:a9fe',
      '2002:a00:1::1',
      'not-an-address',
      '',
    ];
    const open = [
      '8.8.8.8',
      '93.184.216.34',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ];
    for (const a of blocked)
      expect({ a, problem: addressProblem(a, { dev: false }) }).not.toEqual({ a, problem: undefined });
    for (const a of open) expect({ a, problem: addressProblem(a, { dev: false }) }).toEqual({ a, problem: undefined });
    const devOpen = ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1'];
    for (const a of devOpen)
      expect({ a, problem: addressProblem(a, { dev: true }) }).toEqual({ a, problem: undefined });
    for (const a of blocked.filter((b) => !devOpen.includes(b) && !['::127.0.0.1', '::ffff:7f00:1'].includes(b))) {
      expect({ a, problem: addressProblem(a, { dev: true }) }).not.toEqual({ a, problem: undefined });
    }
  });
});

import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * "Acme CRM": the third-party service an organization connects in Rampart's vault. A small HTTPS API
 * that knows one API key: `GET /v1/me` (the key check Rampart's provider runs when a key is pasted)
 * and `GET /v1/contacts` (what Acme Analytics imports). It records who called, so a test can see
 * the key arrive at the vendor and nowhere else.
 */
export interface DemoCrm {
  url: string;
  /** `host:port`, as the vault provider's allowed host. */
  host: string;
  /** Each request: path, and whether it carried the key. */
  calls: { path: string; authorized: boolean }[];
  close(): Promise<void>;
}

export const CRM_CONTACTS = [
  { name: 'Ada Lovelace', company: 'Analytical Engines', stage: 'customer' },
  { name: 'Grace Hopper', company: 'Compilers Inc.', stage: 'trial' },
  { name: 'Katherine Johnson', company: 'Orbital Math', stage: 'lead' },
];

export async function startDemoCrm(opts: {
  apiKey: string;
  cert: Buffer;
  key: Buffer;
  port?: number;
}): Promise<DemoCrm> {
  const expected = Buffer.from(`Bearer ${opts.apiKey}`);
  const calls: DemoCrm['calls'] = [];
  const server: Server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    const authorized = given.length === expected.length && timingSafeEqual(given, expected);
    const path = new URL(req.url ?? '/', 'https://crm.invalid').pathname;
    calls.push({ path, authorized });
    res.setHeader('content-type', 'application/json');
    if (!authorized) {
      res.statusCode = 401;
      return res.end(JSON.stringify({ error: 'invalid_api_key' }));
    }
    if (path === '/v1/me') return res.end(JSON.stringify({ account: 'Acme CRM demo account' }));
    if (path === '/v1/contacts') return res.end(JSON.stringify({ contacts: CRM_CONTACTS }));
    res.statusCode = 404;
    res.end(JSON.stringify({ error: 'not_found' }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}`,
    host: `localhost:${port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

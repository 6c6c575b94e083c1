import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A minimal keep-alive HTTP client: little enough overhead that the server's work dominates. */
export function httpClient(base: string, opts: { localAddress?: string; maxSockets?: number } = {}) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64, localAddress: opts.localAddress });
  return {
    request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResult> {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
        });
        req.on('error', reject);
        if (body) req.end(body);
        else req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

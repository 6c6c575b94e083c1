// Child process: one autocannon run (its API, in this process, not the server's) from a JSON spec in argv[2];
// prints {requests, seconds, p50, p99, non2xx, errors} (latencies in ms). Used when wrk is not installed.
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2]);
const url = new URL(spec.url);
let n = 0;
const options = {
  url: url.origin,
  connections: spec.connections,
  duration: spec.duration,
  timeout: 10,
  requests: [
    {
      method: spec.method,
      path: url.pathname + url.search,
      headers: spec.headers,
      body: spec.bodies?.[0],
      // Per request: the next body of the list, and (sign-in storm) an address of its own.
      ...(spec.bodies || spec.spreadOctet !== undefined
        ? {
            setupRequest: (req) => {
              n++;
              const headers = { ...req.headers };
              if (spec.spreadOctet !== undefined) {
                headers['x-forwarded-for'] = `10.${spec.spreadOctet}.${(n >> 8) & 255}.${n & 255 || 1}`;
              }
              return { ...req, headers, body: spec.bodies ? spec.bodies[n % spec.bodies.length] : req.body };
            },
          }
        : {}),
    },
  ],
};
const result = await autocannon(options);
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }),
);

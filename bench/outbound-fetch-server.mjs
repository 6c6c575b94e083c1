// Child process of outbound-fetch.bench.ts: the loopback HTTPS server the fetches go to, in its own process so
// it never shares an event loop with the client being measured. Input: {cert, key} (PEM) as JSON on stdin;
// output: the port, one line on stdout. Every answer is the same 1 KiB of JSON.
import https from 'node:https';

const input = JSON.parse(
  await new Promise((resolve) => {
    let data = '';
    process.stdin.on('data', (c) => (data += c));
    process.stdin.on('end', () => resolve(data));
  }),
);
const body = JSON.stringify({ items: Array.from({ length: 32 }, (_, i) => ({ id: i, name: `item-${i}-padding` })) });
const server = https.createServer({ cert: input.cert, key: input.key }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));

/**
 * Child-process entry for the `baseline` scenario: a bare node:http JSON handler on loopback,
 * the reference that server figures are divided by. It does what every server request has to
 * do at minimum — read the body, parse the JSON, answer JSON — and nothing else.
 * Prints `SIGLOAD_SERVER {"url":…}`, serves until SIGTERM/SIGINT or stdin closes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

let counter = 0;
const server = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    let body: string;
    try {
      const parsed = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      body = JSON.stringify({ messaging_product: 'whatsapp', messages: [{ id: `wamid.${++counter}` }], echo: typeof parsed });
    } catch {
      status = 400;
      body = '{"error":{"code":100}}';
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`SIGLOAD_SERVER ${JSON.stringify({ url: `http://127.0.0.1:${port}`, adminToken: '', registrationToken: '' })}\n`);
});
const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

/**
 * SIGLOAD_SERVER_DEBUG=1 logs failed webhook POSTs without the callback URL's query string
 * (issue 14, item 7): a callback URL may carry a secret. The flag is read when the dispatcher
 * module loads, so this file sets it before importing the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

process.env['SIGLOAD_SERVER_DEBUG'] = '1';
const { startTestServer } = await import('./test-server.js');
const { createBusiness, eventually, sendTemplate } = await import('./test-client.js');

test('debug logging of a failed webhook POST leaves out the query string', async () => {
  const failing = createServer((request, response) => {
    request.resume();
    response.writeHead(500).end('no');
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/hook?secret=s3cr3t-in-query`;
  const logged: string[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => logged.push(args.map(String).join(' '));
  const t = await startTestServer({ verifyCallbacks: false });
  try {
    const business = await createBusiness(t.server, undefined, { webhook_url: url });
    assert.equal((await sendTemplate(t.server, business, '4935000000001')).status, 200);
    await eventually(() => logged.some((line) => line.includes('webhook POST')));
    const lines = logged.filter((line) => line.includes('webhook POST'));
    assert.ok(lines.some((line) => line.includes('/hook')), lines.join('\n'));
    for (const line of lines) assert.ok(!line.includes('s3cr3t'), line);
  } finally {
    console.error = consoleError;
    await t.close();
    failing.closeAllConnections();
    await new Promise((resolve) => failing.close(resolve));
  }
});

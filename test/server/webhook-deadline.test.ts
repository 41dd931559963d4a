/**
 * A slow webhook receiver (issue 14, item 5): a receiver that trickles its answer a byte at a
 * time is cut off by a total deadline per delivery (not an idle timeout), and shutdown — in
 * process and on SIGTERM of `npm start` — completes within a bound while it still trickles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { call, createBusiness, eventually, sendTemplate } from './test-client.js';
import { startTestServer } from './test-server.js';

/** Answers every POST with 200 headers, then one byte every 200 ms, never ending. */
async function trickleReceiver(): Promise<{ url: string; posts: () => number; close(): Promise<void> }> {
  const open = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let posts = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    if (request.method !== 'POST') {
      response.end(new URL(request.url ?? '/', 'http://x').searchParams.get('hub.challenge') ?? '');
      return;
    }
    posts++;
    open.add(response);
    response.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => response.write('.'), 200);
    timers.add(timer);
    response.on('close', () => {
      clearInterval(timer);
      open.delete(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?secret=do-not-log`,
    posts: () => posts,
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);

test('a trickling receiver is cut off by the total deadline; close() completes while it trickles', { timeout: 30_000 }, async () => {
  const receiver = await trickleReceiver();
  const t = await startTestServer({ webhooks: { request_timeout_ms: 1_000 }, verifyCallbacks: false, resourceLimits: { shutdownGraceMs: 500 } });
  let closed = false;
  try {
    const business = await createBusiness(t.server, undefined, { webhook_url: receiver.url });
    assert.equal((await sendTemplate(t.server, business, '4934000000001')).status, 200);
    await eventually(() => receiver.posts() >= 1, 5_000);
    // Well within 4 s the 1 s deadline has failed the POST, although bytes keep arriving.
    await eventually(() => t.server.webhooks.metrics.failed_posts >= 1, 4_000);
    await eventually(() => receiver.posts() >= 2, 8_000); // retried, and trickling again
    const result = await within(t.close(), 5_000);
    assert.notEqual(result, 'timeout', 'close() did not complete within 5 s');
    closed = true;
  } finally {
    if (!closed) void t.close();
    await receiver.close();
  }
});

test('SIGTERM completes while a webhook receiver trickles', { timeout: 40_000 }, async () => {
  const receiver = await trickleReceiver();
  const script = fileURLToPath(new URL('../../scripts/server.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0', '--admin-token', 'admin-token-1', '--no-verify-callbacks'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(() => /listening on (http:\/\/\S+)/.test(out), 15_000);
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const server = { url, adminToken: 'admin-token-1' } as Parameters<typeof call>[0];
    const business = await createBusiness(server, undefined, { webhook_url: receiver.url });
    assert.equal((await sendTemplate(server, business, '4934000000002')).status, 200);
    await eventually(() => receiver.posts() >= 1, 10_000);
    child.kill('SIGTERM');
    const code = await within(exited, 15_000);
    assert.equal(code, 0, `exit: ${String(code)}\n${out}`);
    assert.ok(!out.includes('do-not-log'));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await receiver.close();
  }
});

/**
 * The health face (deploy/ probes): liveness and readiness answer without a token, only to GET;
 * readiness turns 503 once the process drains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { HEALTH_PATHS, readiness } from '../../src/server/health-face.js';
import type { ServerContext } from '../../src/server/server-context.js';
import { call } from './test-client.js';
import { startTestServer } from './test-server.js';

test('GET /healthz and /readyz answer 200 without a token; other methods are not routes', async () => {
  const t = await startTestServer();
  try {
    const live = await call(t.server, 'GET', HEALTH_PATHS.liveness, undefined);
    assert.equal(live.status, 200, live.text);
    assert.deepEqual(live.body, { status: 'ok' });
    const ready = await call(t.server, 'GET', HEALTH_PATHS.readiness, undefined);
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.body, { status: 'ready' });
    const posted = await call(t.server, 'POST', HEALTH_PATHS.readiness, undefined, {});
    assert.equal(posted.status, 404, posted.text);
    const suffixed = await call(t.server, 'GET', `${HEALTH_PATHS.liveness}/x`, undefined);
    assert.equal(suffixed.status, 404, suffixed.text);
  } finally {
    await t.close();
  }
});

test('readiness answers 503 draining once shutdown began', () => {
  const written: { status?: number; body?: string } = {};
  const response = {
    writeHead(status: number) {
      written.status = status;
      return this;
    },
    end(body: string) {
      written.body = body;
    },
  } as unknown as ServerResponse;
  const draining = new AbortController();
  readiness({ closing: draining.signal } as ServerContext, response);
  assert.equal(written.status, 200);
  draining.abort();
  readiness({ closing: draining.signal } as ServerContext, response);
  assert.equal(written.status, 503);
  assert.deepEqual(JSON.parse(written.body ?? ''), { status: 'draining' });
});

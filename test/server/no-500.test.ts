/**
 * "The server never answers 500 to bad input" (transport-api.md conventions): random JSON values
 * and random bytes thrown at every route, with valid and invalid tokens, never get a 5xx, and
 * always get the Graph envelope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TestDevice, call, createBusiness } from './test-client.js';
import { startTestServer } from './test-server.js';
import { SystemClock } from '../../src/server/clock.js';

test('random bodies on every route never get a 5xx', async () => {
  const t = await startTestServer();
  const { server } = t;
  try {
    const business = await createBusiness(server, undefined);
    const device = await TestDevice.register(server, '15557770001', 1);
    const routes: [string, string, string | undefined][] = [
      ['POST', '/transport/v1/devices', server.registrationToken],
      ['PUT', '/transport/v1/devices/self/pre_keys', device.token],
      ['POST', '/transport/v1/messages', device.token],
      ['POST', '/transport/v1/receipts', device.token],
      ['POST', '/transport/v1/reports', device.token],
      ['POST', `/v23.0/${business.pnid}/messages`, business.token],
      ['POST', '/admin/v1/businesses', server.adminToken],
      ['POST', '/admin/v1/clock', server.adminToken],
      ['GET', `/transport/v1/inbox?after=-1&limit=abc&wait_ms=99999999`, device.token],
      ['GET', `/transport/v1/businesses/${business.pnid}x/bundle`, device.token],
      ['GET', '/admin/v1/audit/records?region=XX', server.adminToken],
    ];
    const shaped = fc.record(
      {
        to: fc.oneof(fc.constant(business.pnid), fc.string(), fc.integer()),
        type: fc.oneof(fc.constantFrom(2, 3, 'text', 'template'), fc.anything()),
        body: fc.oneof(fc.base64String(), fc.string(), fc.anything()),
        messaging_product: fc.constantFrom('whatsapp', 1, null),
        text: fc.oneof(fc.record({ body: fc.string() }), fc.anything()),
        template: fc.anything(),
        ids: fc.oneof(fc.array(fc.string()), fc.anything()),
        status: fc.constantFrom('read', 'delivered', 'x'),
        wa_id: fc.oneof(fc.stringMatching(/^[0-9]{8,15}$/), fc.anything()),
        device_id: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.anything()),
        registration_id: fc.anything(),
        identity_key: fc.oneof(fc.base64String(), fc.anything()),
        signed_pre_key: fc.anything(),
        kyber_pre_key: fc.anything(),
        one_time_pre_keys: fc.oneof(fc.array(fc.record({ id: fc.integer(), public_key: fc.base64String() })), fc.anything()),
        advance_ms: fc.anything(),
        display_phone_number: fc.anything(),
        webhook_url: fc.oneof(fc.constant(''), fc.constant('http://127.0.0.1:9/hook'), fc.anything()), // loopback only
        region: fc.anything(),
        throughput_mps: fc.anything(),
        messaging_limit: fc.anything(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: routes.length - 1 }),
        fc.oneof(shaped.map((v) => JSON.stringify(v)), fc.json(), fc.string(), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1'))),
        fc.boolean(),
        async (routeIndex, body, goodToken) => {
          const [method, path, token] = routes[routeIndex]!;
          const answer = await call(server, method, path, goodToken ? token : 'bogus-token', undefined, method === 'GET' ? undefined : body);
          assert.ok(answer.status < 500, `${method} ${path} ${body.slice(0, 200)} → ${answer.status} ${answer.text}`);
          if (answer.status >= 400) assert.equal(typeof answer.body?.error?.code, 'number', answer.text);
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    await t.close();
  }
});

test('POST /admin/v1/clock is 404 on the system clock', async () => {
  const t = await startTestServer({ clock: new SystemClock() });
  try {
    const answer = await call(t.server, 'POST', '/admin/v1/clock', t.server.adminToken, { advance_ms: 1000 });
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error.code, 100);
  } finally {
    await t.close();
  }
});

/**
 * Size, depth and per-device bounds (issue 14, items 2, 3 and 6): message objects are bounded in
 * bytes, inbox pages in bytes as well as entries, JSON in depth (HTTP bodies and device
 * plaintexts), one-time prekeys per device, long-polls per device; a send refused anywhere in
 * its path leaves no rate-limit or spam-guard state behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../src/store/store.js';
import { TestDevice, call, createBusiness, oneTimeKeyJson, type TestBusiness } from './test-client.js';
import { startTestServer } from './test-server.js';

const user = (i: number): string => String(4_932_000_000 + i);

function template(business: TestBusiness, to: string, components: unknown): Record<string, unknown> {
  return { messaging_product: 'whatsapp', to, type: 'template', template: { name: 'big', language: { code: 'en_US' }, components } };
}

function sendRaw(t: Awaited<ReturnType<typeof startTestServer>>, business: TestBusiness, text: string) {
  return call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, undefined, text);
}

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

test('a template over the message-size bound is refused (131009); inbox pages are bounded in bytes', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    const device = await TestDevice.register(t.server, user(1), 1, 1);
    const huge = [{ type: 'body', parameters: [{ type: 'text', text: 'x'.repeat(900_000) }] }];
    const refused = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, template(business, user(1), huge));
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, 131009);
    // 30 templates just under the bound: a page of limit=1000 holds only what fits its byte bound.
    const big = [{ type: 'body', parameters: [{ type: 'text', text: 'y'.repeat(60_000) }] }];
    for (let i = 0; i < 30; i++) {
      const sent = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, template(business, user(1), big));
      assert.equal(sent.status, 200, sent.text);
    }
    let after = 0;
    let pages = 0;
    let seen = 0;
    for (;;) {
      const page = await call(t.server, 'GET', `/transport/v1/inbox?after=${after}&limit=1000`, device.token);
      assert.equal(page.status, 200);
      if (page.body.messages.length === 0) break;
      pages++;
      seen += page.body.messages.length;
      assert.ok(page.text.length <= 1.5 * 1024 * 1024, `page of ${page.text.length} bytes`);
      after = page.body.cursor;
    }
    assert.equal(seen, 30);
    assert.ok(pages >= 2, `${pages} pages`);
  } finally {
    await t.close();
  }
});

test('deeply nested JSON: 400 at the boundary, and refused sends use no pair budget', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    await TestDevice.register(t.server, user(2), 1, 1);
    const deep = `{"messaging_product":"whatsapp","to":"${user(2)}","type":"template","template":{"name":"t","language":{"code":"en_US"},"components":[{"type":"body","x":${nested(5_000)}}]}}`;
    for (let i = 0; i < 46; i++) {
      const answer = await sendRaw(t, business, deep);
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.body.error.code, 100);
    }
    const ok = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, template(business, user(2), [{ type: 'body' }]));
    assert.equal(ok.status, 200, ok.text);
    // Every face parses through the same bound.
    const deepRegistration = await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, undefined, `{"wa_id":${nested(5_000)}}`);
    assert.equal(deepRegistration.status, 400);
  } finally {
    await t.close();
  }
});

test('a device plaintext nested 5,000 deep is refused with 400 and the session still works', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    const device = await TestDevice.register(t.server, user(3), 1, 1);
    await device.startSession(business.pnid);
    assert.equal((await device.sendText(business.pnid, 'first')).status, 202);
    const ciphertext = await device.peer.encrypt({ name: business.pnid, deviceId: 1 }, new TextEncoder().encode(`{"type":"text","text":{"body":"x"},"deep":${nested(5_000)}}`));
    const refused = await device.postCiphertext(business.pnid, ciphertext);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error.code, 131009);
    assert.equal((await device.sendText(business.pnid, 'after')).status, 202);
  } finally {
    await t.close();
  }
});

test('a send refused after the limits were checked leaves no limit state behind', async () => {
  const t = await startTestServer({ limits: { pairBurst: 1 } });
  try {
    const business = await createBusiness(t.server, undefined);
    await TestDevice.register(t.server, user(4), 1, 1);
    const store = t.store as { recordStatuses: typeof t.store.recordStatuses };
    const recordStatuses = store.recordStatuses;
    store.recordStatuses = () => Promise.reject(new StoreError('unavailable', 'injected'));
    const failed = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, template(business, user(4), [{ type: 'body' }]));
    store.recordStatuses = recordStatuses;
    assert.equal(failed.status, 503, failed.text);
    const ok = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, template(business, user(4), [{ type: 'body' }]));
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await t.close();
  }
});

test('one-time prekeys are capped per device (131009 past the cap, nothing stored)', async () => {
  const t = await startTestServer({ resourceLimits: { oneTimePreKeysPerDevice: 1_000 } });
  try {
    const device = await TestDevice.register(t.server, user(5), 1, 1);
    const upload = (from: number, count: number) =>
      call(t.server, 'PUT', '/transport/v1/devices/self/pre_keys', device.token, { one_time_pre_keys: Array.from({ length: count }, (_, i) => oneTimeKeyJson(from + i)) });
    assert.equal((await upload(1_000, 999)).status, 204); // 1 + 999 = 1,000
    const over = await upload(5_000, 1);
    assert.equal(over.status, 400, over.text);
    assert.equal(over.body.error.code, 131009);
    // Concurrent uploads cannot race past the cap either.
    await Promise.all(Array.from({ length: 5 }, (_, i) => upload(10_000 + i * 1_000, 1_000)));
    assert.equal(await t.store.devicePreKeyCount(user(5), 1), 1_000);
  } finally {
    await t.close();
  }
});

test('long-polls are capped per device (429) and other devices are still served', async () => {
  const t = await startTestServer({ resourceLimits: { longPollsPerDevice: 2 } });
  try {
    const device = await TestDevice.register(t.server, user(6), 1, 1);
    const other = await TestDevice.register(t.server, user(7), 1, 1);
    const polls = [0, 1].map(() => call(t.server, 'GET', '/transport/v1/inbox?wait_ms=2000', device.token));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const third = await call(t.server, 'GET', '/transport/v1/inbox?wait_ms=2000', device.token);
    assert.equal(third.status, 429, third.text);
    assert.equal(third.body.error.code, 4);
    const others = await call(t.server, 'GET', '/transport/v1/inbox?wait_ms=1', other.token);
    assert.equal(others.status, 200);
    for (const poll of await Promise.all(polls)) assert.equal(poll.status, 200);
  } finally {
    await t.close();
  }
});

test('connections beyond the total cap get a readable 503, and the server keeps serving', async () => {
  const { connect } = await import('node:net');
  const t = await startTestServer({ resourceLimits: { connections: 3 } });
  try {
    const held = [];
    for (let i = 0; i < 3; i++) {
      const socket = connect(t.server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      held.push(socket);
    }
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(t.server.port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    assert.match(refused, /^HTTP\/1\.1 503/);
    assert.match(refused, /"code":2/);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await call(t.server, 'GET', '/metrics', t.server.adminToken)).status, 200);
  } finally {
    await t.close();
  }
});

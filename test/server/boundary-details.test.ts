/**
 * The smaller findings of issue 14 (item 7), each as the behaviour the contract asks for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import { TestDevice, call, createBusiness, registrationBody, sendTemplate } from './test-client.js';
import { startTestServer } from './test-server.js';

const user = (i: number): string => String(4_936_000_000 + i);

test('the registration token is compared in constant time', async () => {
  const t = await startTestServer();
  const original = crypto.timingSafeEqual;
  const compared: string[] = [];
  crypto.timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compared.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString());
    return original(a, b);
  };
  syncBuiltinESMExports();
  try {
    const answer = await call(t.server, 'POST', '/transport/v1/devices', 'registration-tokem', {});
    assert.equal(answer.status, 401);
    assert.ok(compared.includes('registration-tokem'), 'timingSafeEqual saw the registration token');
  } finally {
    crypto.timingSafeEqual = original;
    syncBuiltinESMExports();
    await t.close();
  }
});

test('the audit lists every inbox cursor at rest (kind contact)', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    await TestDevice.register(t.server, user(1), 1, 1);
    assert.equal((await sendTemplate(t.server, business, user(1))).status, 200);
    const audit = await call(t.server, 'GET', '/admin/v1/audit/records?region=US', t.server.adminToken);
    const keys = audit.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { kind: string; key: string });
    assert.ok(keys.some((r) => r.kind === 'contact' && r.key === `${user(1)}.1/inbox_cursor`), 'inbox cursor listed');
  } finally {
    await t.close();
  }
});

test('after re-registration a device gets no inbox entries sealed for its old keys', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    const old = await TestDevice.register(t.server, user(2), 1, 1);
    assert.equal((await sendTemplate(t.server, business, user(2))).status, 200);
    assert.equal((await call(t.server, 'GET', '/transport/v1/inbox?after=0', old.token)).body.messages.length, 1);
    const renewed = await TestDevice.register(t.server, user(2), 1, 1);
    const page = await call(t.server, 'GET', '/transport/v1/inbox?after=0', renewed.token);
    assert.equal(page.status, 200);
    assert.equal(page.body.messages.length, 0);
    // New messages reach the new keys, and decrypt.
    t.clock.advance(10_000);
    assert.equal((await sendTemplate(t.server, business, user(2))).status, 200);
    const fresh = await renewed.inbox();
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0]!.plaintext.type, 'template');
  } finally {
    await t.close();
  }
});

test('a 5 MiB body gets a readable 413, also by a client that reads only after sending it all', async () => {
  const { connect } = await import('node:net');
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    const answer = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, undefined, Buffer.alloc(5 * 1024 * 1024, 0x20));
    assert.equal(answer.status, 413);
    assert.equal(answer.body.error.code, 100);
    // The careless client: the whole body first, then the answer (a reset would lose it).
    const text = await new Promise<string>((resolve) => {
      const socket = connect(t.server.port, '127.0.0.1');
      let received = '';
      socket.pause();
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? ''}`));
      socket.on('close', () => resolve(received));
      socket.on('connect', () => {
        socket.write(`POST /v23.0/${business.pnid}/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${business.token}\r\ncontent-type: application/json\r\ncontent-length: ${5 * 1024 * 1024}\r\nconnection: close\r\n\r\n`);
        socket.write(Buffer.alloc(5 * 1024 * 1024, 0x20), () => {
          setTimeout(() => {
            socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
            socket.resume();
          }, 200);
        });
      });
    });
    assert.match(text, /^HTTP\/1\.1 413/);
    assert.match(text, /"code":100/);
  } finally {
    await t.close();
  }
});

test('a dozen long-polls print no MaxListenersExceededWarning', async () => {
  const t = await startTestServer({ resourceLimits: { longPollsPerDevice: 20 } });
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  try {
    const device = await TestDevice.register(t.server, user(3), 1, 1);
    await Promise.all(Array.from({ length: 12 }, () => call(t.server, 'GET', '/transport/v1/inbox?wait_ms=300', device.token)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.filter((name) => name === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
    await t.close();
  }
});

test('a repeated region in the audit query is refused (400)', async () => {
  const t = await startTestServer();
  try {
    const answer = await call(t.server, 'GET', '/admin/v1/audit/records?region=US&region=DE', t.server.adminToken);
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.body.error.code, 100);
  } finally {
    await t.close();
  }
});

test('base64 fields take standard base64 with padding only; strings must be well-formed UTF-16', async () => {
  const t = await startTestServer();
  try {
    const peer = await LibsignalDevice.create(user(4), 1);
    const body = registrationBody(peer, user(4), 1);
    const identity = body['identity_key'] as string;
    // A lone surrogate whose low byte is the base64 letter it replaces: Node's decoder reads it as that letter.
    const letter = identity.charCodeAt(identity.length - 2);
    const surrogate = { ...body, identity_key: identity.slice(0, -2) + String.fromCharCode(0xd800 | letter) + '=' };
    const answer = await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, surrogate);
    assert.equal(answer.status, 400, answer.text);
    // No '=': the last character is a lone surrogate Node's decoder reads as '='.
    const unpadded = { ...body, identity_key: identity.slice(0, -1) + '\uD83D' };
    assert.equal((await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, unpadded)).status, 400);
    assert.equal(await t.store.getContact(user(4)), undefined);
    const business = await createBusiness(t.server, undefined);
    const lone = await call(t.server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, undefined, `{"messaging_product":"whatsapp","to":"${user(5)}","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"body","text":"\\ud800"}]}}`);
    assert.equal(lone.status, 400, lone.text);
  } finally {
    await t.close();
  }
});

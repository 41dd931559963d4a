/**
 * Nothing a refused request sends changes any state (transport-api.md conventions): forged
 * registrations, tampered / replayed / undecryptable messages, malformed and oversized JSON,
 * wrong, missing and foreign tokens. State is read through the operator's audit listing of every
 * region (every record at rest, bytes included), before and after each refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGIONS } from '../../src/store/store.js';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import type { ReferenceServer } from '../../src/server/reference-server.js';
import { TestDevice, call, createBusiness, eventually, registrationBody, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';

async function stateSnapshot(server: ReferenceServer): Promise<string> {
  await server.settled();
  const lines: string[] = [];
  for (const region of REGIONS) {
    const answer = await call(server, 'GET', `/admin/v1/audit/records?region=${region}`, server.adminToken);
    assert.equal(answer.status, 200);
    lines.push(...answer.text.split('\n').filter((l) => l !== ''));
  }
  return lines.sort().join('\n');
}

function assertGraphError(answer: { status: number; body: any; text: string }, status: number, code: number): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.body.error.code, code, answer.text);
  assert.equal(answer.body.error.type, 'OAuthException');
  assert.match(answer.body.error.message, new RegExp(`^\\(#${code}\\) `));
  assert.equal(answer.body.error.error_data.messaging_product, 'whatsapp');
  assert.equal(typeof answer.body.error.error_data.details, 'string');
  assert.equal(typeof answer.body.error.fbtrace_id, 'string');
}

test('refused requests change nothing', async () => {
  const t = await startTestServer();
  const { server } = t;
  try {
    const business = await createBusiness(server, t.receiver);
    const other = await createBusiness(server, undefined);
    const user = await TestDevice.register(server, '15551230001', 1);
    await user.startSession(business.pnid);
    assert.equal((await user.sendText(business.pnid, 'opening')).status, 202);
    await eventually(() => t.receiver.messages.length === 1);
    // A reply, so the device's next messages are Whisper messages.
    assert.equal((await sendText(server, business, '15551230001', 'welcome')).status, 200);
    assert.equal((await user.inbox()).length, 1);
    const before = await stateSnapshot(server);
    const unchanged = async (what: string): Promise<void> => {
      assert.equal(await stateSnapshot(server), before, `${what} changed state`);
    };

    // --- registration ---------------------------------------------------------------------
    const peer = await LibsignalDevice.create('15551230002', 1);
    const forged = registrationBody(peer, '15551230002');
    const sig = Buffer.from((forged['signed_pre_key'] as { signature: string }).signature, 'base64');
    sig[5]! ^= 0x01;
    (forged['signed_pre_key'] as { signature: string }).signature = sig.toString('base64');
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', server.registrationToken, forged), 400, 131009);
    const forgedKyber = registrationBody(peer, '15551230002');
    const kyberSig = Buffer.from((forgedKyber['kyber_pre_key'] as { signature: string }).signature, 'base64');
    kyberSig[10]! ^= 0x80;
    (forgedKyber['kyber_pre_key'] as { signature: string }).signature = kyberSig.toString('base64');
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', server.registrationToken, forgedKyber), 400, 131009);
    // A signature by another identity.
    const stranger = await LibsignalDevice.create('x', 1);
    const swapped = registrationBody(peer, '15551230002');
    swapped['signed_pre_key'] = registrationBody(stranger, '15551230002')['signed_pre_key'];
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', server.registrationToken, swapped), 400, 131009);
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', 'wrong-token', registrationBody(peer, '15551230002')), 401, 190);
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', undefined, registrationBody(peer, '15551230002')), 401, 190);
    const badWaId = registrationBody(peer, '1234');
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', server.registrationToken, badWaId), 400, 100);
    const missing = registrationBody(peer, '15551230002');
    delete missing['identity_key'];
    assertGraphError(await call(server, 'POST', '/transport/v1/devices', server.registrationToken, missing), 400, 131008);
    await unchanged('registration refusals');

    // --- messages from the device -----------------------------------------------------------
    const genuine = await user.encrypt(business.pnid, { type: 'text', text: { body: 'genuine' } });
    assert.equal(genuine.type, 2);
    const tampered = { type: genuine.type, body: genuine.body.slice() };
    tampered.body[tampered.body.length - 12]! ^= 0x01;
    assertGraphError(await user.postCiphertext(business.pnid, tampered), 400, 131009);
    assertGraphError(await user.postCiphertext(business.pnid, { type: 2, body: new Uint8Array(80).fill(7) }), 400, 131009);
    assertGraphError(await user.postCiphertext(business.pnid, { type: 3, body: new Uint8Array(80).fill(7) }), 400, 131009);
    assertGraphError(await user.postCiphertext(business.pnid, { type: 3, body: genuine.body }), 400, 131009);
    await unchanged('undecryptable messages');
    // The session was left as it was: the genuine message still decrypts.
    assert.equal((await user.postCiphertext(business.pnid, genuine)).status, 202);
    await eventually(() => t.receiver.messages.length === 2);
    const afterGenuine = await stateSnapshot(server);
    // Replay of the accepted message.
    assertGraphError(await user.postCiphertext(business.pnid, genuine), 400, 131009);
    assert.equal(await stateSnapshot(server), afterGenuine, 'a replay changed state');
    // A plaintext that is not a Cloud API message object.
    const notJson = await user.peer.encrypt({ name: business.pnid, deviceId: 1 }, new TextEncoder().encode('not json'));
    assertGraphError(await user.postCiphertext(business.pnid, notJson), 400, 131009);
    assert.equal(await stateSnapshot(server), afterGenuine, 'a non-JSON plaintext changed state');

    // --- malformed, oversized, tokens ---------------------------------------------------------
    const snapshot = afterGenuine;
    const same = async (what: string): Promise<void> => assert.equal(await stateSnapshot(server), snapshot, `${what} changed state`);
    assertGraphError(await call(server, 'POST', '/transport/v1/messages', user.token, undefined, '{"to": '), 400, 100);
    assertGraphError(await call(server, 'POST', '/transport/v1/messages', user.token, undefined, '[1,2]'), 400, 100);
    assertGraphError(await call(server, 'POST', '/transport/v1/messages', user.token, { to: business.pnid, type: 'two', body: 'AAAA' }), 400, 100);
    assertGraphError(await call(server, 'POST', '/transport/v1/messages', user.token, { to: business.pnid, type: 2, body: 'not base64!' }), 400, 100);
    assertGraphError(await call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, undefined, '{"messaging_product":"whatsapp",'), 400, 100);
    assertGraphError(await call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, { messaging_product: 'whatsapp', to: '15551230001', type: 'text' }), 400, 131008);
    assertGraphError(await call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, { messaging_product: 'whatsapp', to: '15551230001', type: 'text', text: { body: 42 } }), 400, 100);
    assertGraphError(await call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, { messaging_product: 'whatsapp', to: '15551230001', type: 'image', image: {} }), 400, 131051);
    const huge = Buffer.alloc(1024 * 1024 + 10, 0x20);
    huge.write('{"messaging_product":"whatsapp","to":"15551230001","type":"text","text":{"body":"', 0);
    const oversized = await call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, undefined, huge);
    assertGraphError(oversized, 413, 100);
    assertGraphError(await call(server, 'POST', '/transport/v1/messages', user.token, undefined, huge), 413, 100);
    assertGraphError(await sendText(server, { ...business, token: 'EAAwrong' }, '15551230001', 'x'), 401, 190);
    assertGraphError(await call(server, 'POST', `/v23.0/${business.pnid}/messages`, undefined, { messaging_product: 'whatsapp', to: '15551230001', type: 'text', text: { body: 'x' } }), 401, 190);
    // Another business's token on this number.
    assertGraphError(await sendText(server, { ...business, token: other.token }, '15551230001', 'x'), 403, 10);
    assertGraphError(await call(server, 'GET', '/transport/v1/inbox', 'not-a-device'), 401, 190);
    assertGraphError(await call(server, 'GET', '/transport/v1/inbox', business.token), 401, 190);
    assertGraphError(await call(server, 'POST', '/admin/v1/businesses', business.token, { display_phone_number: '155', webhook_url: '' }), 401, 190);
    assertGraphError(await call(server, 'GET', '/admin/v1/audit/records?region=US', user.token), 401, 190);
    assertGraphError(await call(server, 'POST', '/admin/v1/clock', 'admin-token-wrong', { advance_ms: 1 }), 401, 190);
    assertGraphError(await call(server, 'GET', '/nowhere', undefined), 404, 100);
    // Receipts for messages that are not the user's.
    assertGraphError(await user.receipts(['wamid.bogus'], 'read'), 400, 131009);
    assertGraphError(await user.receipts([t.receiver.messages[0]!.id], 'read'), 400, 131009);
    assertGraphError(await call(server, 'POST', '/transport/v1/reports', user.token, { business: '999', reason: 'spam' }), 400, 100);
    await same('malformed and unauthorized requests');
  } finally {
    await t.close();
  }
});

test('a device reaches only its own inbox; a replaced device loses its token and its sessions', async () => {
  const t = await startTestServer();
  const { server } = t;
  try {
    const business = await createBusiness(server, t.receiver);
    const alice = await TestDevice.register(server, '15551110001', 1);
    const bob = await TestDevice.register(server, '15551110002', 1);
    for (const d of [alice, bob]) {
      await d.startSession(business.pnid);
      assert.equal((await d.sendText(business.pnid, 'hi')).status, 202);
    }
    assert.equal((await sendText(server, business, '15551110001', 'for alice only')).status, 200);
    assert.equal((await bob.inbox()).length, 0);
    const got = await alice.inbox();
    assert.equal(got.length, 1);
    assert.equal(got[0]!.plaintext.text.body, 'for alice only');
    // Re-registering alice's device: old token revoked, the server's session dropped.
    const oldToken = alice.token;
    const again = await TestDevice.register(server, '15551110001', 1);
    again.cursor = alice.cursor; // older entries were encrypted for the replaced device
    assert.equal((await call(server, 'GET', '/transport/v1/inbox', oldToken)).status, 401);
    assert.equal((await sendText(server, business, '15551110001', 'fresh session')).status, 200);
    const fresh = await again.inbox();
    const last = fresh[fresh.length - 1]!;
    assert.equal(last.type, 3, 'a new session from the new bundle');
    assert.equal(last.plaintext.text.body, 'fresh session');
  } finally {
    await t.close();
  }
});

/**
 * Interop with @signalapp/libsignal-client 0.103.0 and 0.90.0 (both run SPQR), both
 * directions, on both backends: several PreKey messages before the first reply, ≥ 5 ratchet turns
 * each way, out-of-order delivery within and across chains, with and without
 * a one-time prekey, plaintexts of 0, 1, 15, 16, 17 bytes and 64 KiB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { LIBSIGNAL_VERSIONS, LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import type { Ciphertext } from '../../src/signal/index.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/signal/wire.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { ours, theirs, type Peer } from './peers.js';

const SIZES = [0, 1, 15, 16, 17, 65536];
let seq = 0;
function plaintext(): Uint8Array {
  const size = SIZES[seq % SIZES.length]!;
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (seq * 31 + i * 7) & 0xff;
  seq++;
  return p;
}

interface Sent {
  from: Peer;
  to: Peer;
  ct: Ciphertext;
  plaintext: Uint8Array;
}

async function deliver(m: Sent): Promise<void> {
  const got = await m.to.decrypt(m.from.address, m.ct);
  assert.deepEqual(new Uint8Array(got), m.plaintext, `${m.from.kind} → ${m.to.kind}: plaintext of ${m.plaintext.length} B`);
}

async function send(from: Peer, to: Peer): Promise<Sent> {
  const p = plaintext();
  return { from, to, ct: await from.encrypt(to.address, p), plaintext: p };
}

async function conversation(initiator: Peer, responder: Peer, withOneTime: boolean): Promise<void> {
  await initiator.processBundle(responder.address, responder.bundle(withOneTime));

  // Several PreKey messages before any reply, delivered out of order.
  const first: Sent[] = [];
  for (let i = 0; i < 4; i++) first.push(await send(initiator, responder));
  for (const m of first) assert.equal(m.ct.type, 3, 'every message before the first reply is a PreKey message');
  const baseKeys = first.map((m) => Buffer.from(decodePreKeySignalMessage(m.ct.body).baseKey).toString('hex'));
  assert.equal(new Set(baseKeys).size, 1, 'all PreKey messages share one base key');
  for (const i of [1, 3, 0, 2]) await deliver(first[i]!);

  // Ratchet turns: each turn 3 messages; #2 and #0 at once, #1 two turns later (an older chain by then).
  const held: Sent[][] = [];
  for (let turn = 0; turn < 12; turn++) {
    const [sender, receiver] = turn % 2 === 0 ? [responder, initiator] : [initiator, responder];
    const batch = [await send(sender, receiver), await send(sender, receiver), await send(sender, receiver)];
    for (const m of batch) assert.equal(m.ct.type, 2, `turn ${turn}: after a reply every message is a SignalMessage`);
    await deliver(batch[2]!);
    await deliver(batch[0]!);
    held.push([batch[1]!]);
    if (held.length > 2) for (const m of held.shift()!) await deliver(m);
  }
  for (const group of held) for (const m of group) await deliver(m);
}

for (const backendName of ['noble', 'node'] as BackendName[]) {
  const backend = getBackend(backendName);
  for (const version of LIBSIGNAL_VERSIONS) {
    for (const withOneTime of [true, false]) {
      const label = `${version}, ${backendName}, ${withOneTime ? 'with' : 'without'} one-time prekey`;

      test(`libsignal starts the session from our bundle (${label})`, async () => {
        const peer = await LibsignalDevice.create(`ls-${seq}`, 1, undefined, version);
        await conversation(theirs(peer), ours(new SimulatedDevice(backend, { name: `us-${seq}` })), withOneTime);
      });

      test(`we start the session from libsignal's bundle (${label})`, async () => {
        const peer = await LibsignalDevice.create(`ls-${seq}`, 2, undefined, version);
        await conversation(ours(new SimulatedDevice(backend, { name: `us-${seq}`, deviceId: 3 })), theirs(peer), withOneTime);
      });
    }

    test(`libsignal ${version} and we both send pq_ratchet (field 5) in every message (${backendName})`, async () => {
      const peer = await LibsignalDevice.create('ls-spqr', 1, undefined, version);
      const us = new SimulatedDevice(backend, { name: 'us-spqr' });
      await peer.processBundle(us.address, us.bundle(true));
      const pk = await peer.encrypt(us.address, new Uint8Array([1, 2, 3]));
      const inner = decodePreKeySignalMessage(pk.body).message;
      assert.ok(inner.pqRatchet.length > 0, 'libsignal offers SPQR in its first message');
      assert.deepEqual(us.decrypt(peer.address, pk), new Uint8Array([1, 2, 3]));
      const reply = us.encrypt(peer.address, new Uint8Array([4]));
      assert.ok(decodeSignalMessage(reply.body).pqRatchet.length > 0, 'we send field 5');
      assert.deepEqual(new Uint8Array(await peer.decrypt(us.address, reply)), new Uint8Array([4]));
      const after = await peer.encrypt(us.address, new Uint8Array([5]));
      assert.equal(after.type, 2);
      assert.ok(decodeSignalMessage(after.body).pqRatchet.length > 0, 'libsignal keeps SPQR');
      assert.deepEqual(us.decrypt(peer.address, after), new Uint8Array([5]));
    });
  }

  test(`a libsignal PreKey message naming a missing signed prekey is refused and changes nothing (${backendName})`, async () => {
    const peer = await LibsignalDevice.create('ls-badid', 1);
    const us = new SimulatedDevice(backend, { name: 'us-badid', signedPreKeyId: 7 });
    await peer.processBundle(us.address, { ...us.bundle(false), signedPreKeyId: 7 });
    const pk = await peer.encrypt(us.address, new Uint8Array([9]));
    us.signedPreKeys.delete(7);
    const before = us.record(peer.address).serialize();
    assert.throws(() => us.decrypt(peer.address, pk), { name: 'SignalError', kind: 'invalid-prekey-id' } as object);
    assert.deepEqual(us.record(peer.address).serialize(), before);
    assert.equal(us.record(peer.address).hasCurrentSession(), false);
  });
}

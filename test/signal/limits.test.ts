/** Forward-jump limit, skipped-key cap, receiver-chain cap, serialization size and round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { SessionRecord, SignalError, MAX_FORWARD_JUMPS, MAX_MESSAGE_KEYS, type Ciphertext } from '../../src/signal/index.js';
import { nextChainKey } from '../../src/signal/ratchet.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { ByteWriter } from '../../src/signal/record-codec.js';
import { writeSpqrState } from '../../src/signal/spqr-serialization.js';
import type { SpqrState } from '../../src/signal/spqr.js';

const kind = (k: string) => (err: unknown) => err instanceof SignalError && err.kind === k;
const pt = (n: number) => new Uint8Array([n & 0xff, n >> 8]);
function spqrBytes(spqr: SpqrState): number {
  const w = new ByteWriter();
  writeSpqrState(w, spqr);
  return w.result().length;
}

function established(backendName: BackendName) {
  const backend = getBackend(backendName);
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  alice.processBundle(bob.address, bob.bundle(true));
  bob.decrypt(alice.address, alice.encrypt(bob.address, pt(0)));
  alice.decrypt(bob.address, bob.encrypt(alice.address, pt(1)));
  return { backend, alice, bob };
}

for (const backendName of ['node', 'noble'] as BackendName[]) {
  test(`a jump of ${MAX_FORWARD_JUMPS} is accepted, one more is 'too-far-ahead' and changes nothing (${backendName})`, () => {
    const { backend, alice, bob } = established(backendName);
    const m0 = alice.encrypt(bob.address, pt(10)); // counter 0 of Alice's new chain
    bob.decrypt(alice.address, m0);
    const m1 = alice.encrypt(bob.address, pt(11)); // counter 1, held back
    // Alice's chain advances as if she had sent and lost MAX_FORWARD_JUMPS messages.
    const sender = alice.record(bob.address).current!;
    let ck = sender.senderChainKey;
    for (let i = 0; i < MAX_FORWARD_JUMPS; i++) ck = nextChainKey(backend, ck);
    sender.senderChainKey = ck;
    sender.senderIndex += MAX_FORWARD_JUMPS;
    const far = alice.encrypt(bob.address, pt(12)); // counter 2 + 25,000: 25,001 past Bob's index 1
    const before = bob.record(alice.address).serialize();
    assert.throws(() => bob.decrypt(alice.address, far), kind('too-far-ahead'));
    assert.deepEqual(bob.record(alice.address).serialize(), before);
    assert.deepEqual(bob.decrypt(alice.address, m1), pt(11)); // now the jump is exactly 25,000
    assert.deepEqual(bob.decrypt(alice.address, far), pt(12));
    const chain = bob.record(alice.address).current!.receivers.at(-1)!;
    assert.equal(chain.skipped!.size, MAX_MESSAGE_KEYS, 'skipped keys are capped');
    assert.equal(Math.min(...chain.skipped!.keys()), 2 + MAX_FORWARD_JUMPS - MAX_MESSAGE_KEYS, 'the oldest were dropped');
  });

  test(`skipped keys are capped at ${MAX_MESSAGE_KEYS}; the oldest is dropped first (${backendName})`, () => {
    const { alice, bob } = established(backendName);
    const sent: Ciphertext[] = [];
    for (let i = 0; i < MAX_MESSAGE_KEYS + 2; i++) sent.push(alice.encrypt(bob.address, pt(i)));
    assert.deepEqual(bob.decrypt(alice.address, sent.at(-1)!), pt(MAX_MESSAGE_KEYS + 1));
    const chain = bob.record(alice.address).current!.receivers.at(-1)!;
    assert.equal(chain.skipped!.size, MAX_MESSAGE_KEYS);
    assert.throws(() => bob.decrypt(alice.address, sent[0]!), kind('duplicate-message'));
    assert.deepEqual(bob.decrypt(alice.address, sent[1]!), pt(1));
    assert.deepEqual(bob.decrypt(alice.address, sent[MAX_MESSAGE_KEYS]!), pt(MAX_MESSAGE_KEYS));
    assert.equal(chain.skipped!.size, MAX_MESSAGE_KEYS - 2);
    const restored = SessionRecord.deserialize(bob.record(alice.address).serialize());
    assert.deepEqual(restored.serialize(), bob.record(alice.address).serialize());
  });

  test(`an established session serializes to ≤ 1024 bytes besides its SPQR state and round-trips, also with 5 receiver chains (${backendName})`, () => {
    const { alice, bob } = established(backendName);
    for (let turn = 0; turn < 12; turn++) {
      const [from, to] = turn % 2 ? [alice, bob] : [bob, alice];
      to.decrypt(from.address, from.encrypt(to.address, pt(turn)));
    }
    for (const [device, peer] of [[alice, bob], [bob, alice]] as const) {
      const record = device.record(peer.address);
      assert.equal(record.current!.receivers.length, 5, 'receiver chains are capped at 5');
      const bytes = record.serialize();
      const spqr = spqrBytes(record.current!.spqr!);
      assert.ok(bytes.length - spqr <= 1024, `${device.name}'s record is ${bytes.length} bytes, ${spqr} of them SPQR`);
      assert.ok(spqr <= 4096, `${device.name}'s SPQR state is ${spqr} bytes`);
      const restored = SessionRecord.deserialize(bytes);
      assert.deepEqual(restored.serialize(), bytes);
      assert.deepEqual(record.clone().serialize(), bytes);
    }
    // the restored record keeps working: Alice (restored) ↔ Bob
    const restoredAlice = SessionRecord.deserialize(alice.record(bob.address).serialize());
    alice.sessions.set('bob.1', restoredAlice);
    assert.deepEqual(bob.decrypt(alice.address, alice.encrypt(bob.address, pt(77))), pt(77));
    assert.deepEqual(alice.decrypt(bob.address, bob.encrypt(alice.address, pt(78))), pt(78));
  });
}

test('a pending (unacknowledged) session round-trips with its PreKey header', () => {
  const backend = getBackend('node');
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  alice.processBundle(bob.address, bob.bundle(true));
  const record = alice.record(bob.address);
  const restored = SessionRecord.deserialize(record.serialize());
  assert.deepEqual(restored.serialize(), record.serialize());
  alice.sessions.set('bob.1', restored);
  const ct = alice.encrypt(bob.address, pt(5));
  assert.equal(ct.type, 3);
  assert.deepEqual(bob.decrypt(alice.address, ct), pt(5));
  assert.equal(SessionRecord.empty().serialize().length, 3);
  assert.equal(SessionRecord.empty().hasCurrentSession(), false);
});

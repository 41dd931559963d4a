/**
 * Properties (fast-check, fixed seeds): random delivery orders with drops and
 * duplicates, and single bit flips, on both backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { SIGNAL_ERROR_KINDS, SessionRecord, SignalError, type Ciphertext } from '../../src/signal/index.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';

function assertSignalError(err: unknown): SignalError {
  assert.ok(err instanceof SignalError, `expected a SignalError, got ${String(err)}`);
  assert.ok(SIGNAL_ERROR_KINDS.includes(err.kind), `kind ${err.kind} is in the closed set`);
  return err;
}

type Command = { op: 'send'; from: 'A' | 'B' } | { op: 'deliver'; to: 'A' | 'B'; pick: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('send' as const), from: fc.constantFrom('A' as const, 'B' as const) }),
  fc.record({ op: fc.constant('deliver' as const), to: fc.constantFrom('A' as const, 'B' as const), pick: fc.nat(1000) }),
);

for (const backendName of ['node', 'noble'] as BackendName[]) {
  const backend = getBackend(backendName);

  test(`random delivery orders with drops and duplicates: each message decrypts exactly once, also through serialize/deserialize (${backendName})`, () => {
    const alice = new SimulatedDevice(backend, { name: 'alice' });
    const bob = new SimulatedDevice(backend, { name: 'bob' });
    alice.processBundle(bob.address, bob.bundle(false));
    const aliceStart = alice.record(bob.address).serialize();

    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 40 }), fc.boolean(), (commands, persist) => {
        alice.sessions.clear();
        bob.sessions.clear();
        alice.sessions.set('bob.1', SessionRecord.deserialize(aliceStart));
        const devices = { A: alice, B: bob };
        const other = { A: bob, B: alice };
        const inFlight: Record<'A' | 'B', { ct: Ciphertext; plaintext: Uint8Array; delivered: boolean }[]> = { A: [], B: [] };
        let rounds = 0;
        let lastSender: 'A' | 'B' | undefined;
        let serial = 0;
        for (const c of commands) {
          if (c.op === 'send') {
            if (c.from !== lastSender) {
              if (rounds === 5) continue; // stay within 5 receiving chains per side
              rounds++;
              lastSender = c.from;
            }
            const from = devices[c.from];
            const to = other[c.from];
            const plaintext = new Uint8Array([serial & 0xff, serial >> 8, 7]);
            serial++;
            if (c.from === 'B' && !from.record(to.address).hasCurrentSession()) {
              assert.throws(() => from.encrypt(to.address, plaintext), (e) => assertSignalError(e).kind === 'no-session');
              continue;
            }
            inFlight[c.from === 'A' ? 'B' : 'A'].push({ ct: from.encrypt(to.address, plaintext), plaintext, delivered: false });
          } else {
            const queue = inFlight[c.to];
            if (queue.length === 0) continue;
            const m = queue[c.pick % queue.length]!;
            const to = devices[c.to];
            const from = other[c.to];
            if (m.delivered) {
              const before = to.record(from.address).serialize();
              assert.throws(() => to.decrypt(from.address, m.ct), (e) => assertSignalError(e).kind === 'duplicate-message');
              assert.deepEqual(to.record(from.address).serialize(), before);
            } else {
              assert.deepEqual(to.decrypt(from.address, m.ct), m.plaintext);
              m.delivered = true;
            }
          }
          if (persist) {
            // Round trip through the at-rest format after every step: bytes are stable and
            // the restored records carry on the conversation.
            for (const [device, peer] of [[alice, bob], [bob, alice]] as const) {
              const bytes = device.record(peer.address).serialize();
              const restored = SessionRecord.deserialize(bytes);
              assert.deepEqual(restored.serialize(), bytes);
              device.sessions.set(`${peer.name}.1`, restored);
            }
          }
        }
      }),
      { seed: 0x5151, numRuns: backendName === 'node' ? 60 : 30 },
    );
  });

  test(`any single flipped bit is refused, state unchanged, and the next valid message still decrypts (${backendName})`, () => {
    const alice = new SimulatedDevice(backend, { name: 'alice' });
    const bob = new SimulatedDevice(backend, { name: 'bob' });
    alice.processBundle(bob.address, bob.bundle(true));
    bob.decrypt(alice.address, alice.encrypt(bob.address, new Uint8Array([1])));
    alice.decrypt(bob.address, bob.encrypt(alice.address, new Uint8Array([2])));
    const aliceStart = alice.record(bob.address).serialize();
    const bobStart = bob.record(alice.address).serialize();


    fc.assert(
      fc.property(fc.boolean(), fc.nat(17), fc.nat(100_000), (newChain, size, bitSeed) => {
        alice.sessions.set('bob.1', SessionRecord.deserialize(aliceStart));
        bob.sessions.set('alice.1', SessionRecord.deserialize(bobStart));
        if (newChain) alice.decrypt(bob.address, bob.encrypt(alice.address, new Uint8Array([3])));
        const p1 = new Uint8Array(size).fill(0x61);
        const m1 = alice.encrypt(bob.address, p1);
        const m2 = alice.encrypt(bob.address, new Uint8Array([9, 9]));
        assert.equal(m1.type, 2);
        const bit = bitSeed % (m1.body.length * 8);
        const flipped = m1.body.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const before = bob.record(alice.address).serialize();
        assert.throws(() => bob.decrypt(alice.address, { type: 2, body: flipped }), (e) => !!assertSignalError(e));
        assert.deepEqual(bob.record(alice.address).serialize(), before, 'a refused message changes nothing');
        assert.deepEqual(bob.decrypt(alice.address, m2), new Uint8Array([9, 9]));
        assert.deepEqual(bob.decrypt(alice.address, m1), p1);
      }),
      { seed: 0xb17f, numRuns: backendName === 'node' ? 300 : 100 },
    );
  });
}

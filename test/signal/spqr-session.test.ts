/**
 * SPQR inside our sessions: every refusal the issue names (empty field 5, an unsalted key, a
 * held message from two epochs back, a corrupted chunk, a forged header MAC, a forged
 * ciphertext MAC, a forged SignalMessage MAC) gives a named kind, leaves the record
 * byte-identical, and the next valid message still decrypts; and records written before SPQR
 * load but are not usable for sending.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import { SessionRecord, SignalError, type Ciphertext, type SignalErrorKind } from '../../src/signal/index.js';
import { encodeSpqrMessage, decodeSpqrMessage, MessageType } from '../../src/signal/spqr-message.js';
import type { BraidStateKind } from '../../src/signal/spqr-braid.js';
import { decodeSignalMessage } from '../../src/signal/wire.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { forgeNext, withField5 } from './spqr-forge.js';

const backend = getBackend('node');
const pt = (n: number) => new TextEncoder().encode(`message ${n}`);
const kind = (k: SignalErrorKind) => (err: unknown) => err instanceof SignalError && err.kind === k;

function established() {
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  alice.processBundle(bob.address, bob.bundle(true));
  let n = 0;
  const send = (from: SimulatedDevice, to: SimulatedDevice): Ciphertext => from.encrypt(to.address, pt(n++));
  const exchange = (from: SimulatedDevice, to: SimulatedDevice): void => {
    const ct = send(from, to);
    assert.ok(to.decrypt(from.address, ct).length > 0);
  };
  exchange(alice, bob);
  exchange(bob, alice);
  return { alice, bob, send, exchange };
}

const field5 = (ct: Ciphertext) => decodeSignalMessage(ct.body).pqRatchet;

/** Refused with `expected`, `to`'s record unchanged, and `next` (valid) still decrypts. */
function refusedUnchanged(to: SimulatedDevice, from: SimulatedDevice, forged: Ciphertext, expected: SignalErrorKind, next: Ciphertext): void {
  const before = to.record(from.address).serialize();
  assert.throws(() => to.decrypt(from.address, forged), kind(expected));
  assert.deepEqual(to.record(from.address).serialize(), before, `a refused message (${expected}) changes nothing`);
  assert.ok(to.decrypt(from.address, next).length > 0, 'the next valid message still decrypts');
}

/** Alternate until `to` is about to take a message that moves its braid from `fromKind` to `toKind`; returns that message. */
function alternateUntil(s: ReturnType<typeof established>, fromKind: BraidStateKind, toKind: BraidStateKind): { ct: Ciphertext; from: SimulatedDevice; to: SimulatedDevice } {
  let [from, to] = [s.alice, s.bob];
  for (let i = 0; i < 2000; i++) {
    const ct = s.send(from, to);
    const spqr = to.record(from.address).current!.spqr!;
    if (spqr.braid.kind === fromKind && spqr.receive(backend, field5(ct)).next.braid.kind === toKind) return { ct, from, to };
    assert.ok(to.decrypt(from.address, ct).length > 0);
    [from, to] = [to, from];
  }
  throw new Error(`no ${fromKind} → ${toKind} transition`);
}

/** The same message with one bit of its chunk flipped (the outer MAC then fails too). */
function corruptChunk(ct: Ciphertext): Ciphertext {
  const f = field5(ct).slice();
  f[f.length - 1 - 7]! ^= 0x10;
  return withField5(backend, ct, f);
}

test('an empty field 5, correctly MAC\'d with an unsalted key, is spqr-minimum-version', () => {
  const { alice, bob, send } = established();
  const forged = forgeNext(backend, alice.record(bob.address), pt(99), new Uint8Array(0));
  refusedUnchanged(bob, alice, forged, 'spqr-minimum-version', send(alice, bob));
});

test('a valid SPQR message whose key is not used as the salt is bad-mac', () => {
  const { alice, bob, send } = established();
  const sender = alice.record(bob.address).clone();
  const valid = sender.current!.spqr!.send(backend).message; // the SPQR message Alice would send next
  const forged = forgeNext(backend, alice.record(bob.address), pt(99), valid);
  refusedUnchanged(bob, alice, forged, 'bad-mac', send(alice, bob));
});

test('a version byte above 1 is spqr-version-mismatch; a malformed SPQR message spqr-invalid-message', () => {
  const { alice, bob, send } = established();
  const next = send(alice, bob);
  const f = field5(next);
  const v2 = f.slice();
  v2[0] = 2;
  refusedUnchanged(bob, alice, withField5(backend, next, v2), 'spqr-version-mismatch', send(alice, bob));
  const next2 = send(alice, bob);
  refusedUnchanged(bob, alice, withField5(backend, next2, field5(next2).subarray(0, 3)), 'spqr-invalid-message', next2);
});

test('(epoch 1, index 0) is "no key": accepted with an unsalted key, as 0.83–0.91 initiators send it', () => {
  const { alice, bob } = established();
  const noKey = encodeSpqrMessage({ epoch: 1, index: 0, type: MessageType.None });
  const ct = forgeNext(backend, alice.record(bob.address), pt(7), noKey);
  assert.deepEqual(bob.decrypt(alice.address, ct), pt(7));
});

test('a corrupted chunk is refused (outer MAC) after SPQR took it on a copy; the true chunk then decodes', () => {
  const s = established();
  const { ct, from, to } = alternateUntil(s, 'no-header-received', 'no-header-received');
  assert.equal(decodeSpqrMessage(field5(ct)).type, MessageType.Hdr);
  refusedUnchanged(to, from, corruptChunk(ct), 'bad-mac', ct);
});

test('a forged header MAC (the chunk that completes the header, corrupted) is spqr-bad-mac', () => {
  const s = established();
  const { ct, from, to } = alternateUntil(s, 'no-header-received', 'header-received');
  refusedUnchanged(to, from, corruptChunk(ct), 'spqr-bad-mac', ct);
});

test('a forged ciphertext MAC (the chunk that completes ct2 ‖ MAC, corrupted) is spqr-bad-mac', () => {
  const s = established();
  const { ct, from, to } = alternateUntil(s, 'ek-sent-ct1-received', 'no-header-received');
  refusedUnchanged(to, from, corruptChunk(ct), 'spqr-bad-mac', ct);
  // and the epoch completed with the true chunk
  assert.equal(to.record(from.address).current!.spqr!.braid.kind, 'no-header-received');
});

test('a forged SignalMessage MAC is bad-mac and SPQR keeps nothing of it', () => {
  const { alice, bob, send } = established();
  const ct = send(alice, bob);
  const body = ct.body.slice();
  body[body.length - 1]! ^= 1;
  refusedUnchanged(bob, alice, { type: 2, body }, 'bad-mac', ct);
});

test('a message held from two epochs back is spqr-epoch-out-of-range (one epoch back is still kept)', () => {
  const s = established();
  const { alice, bob } = s;
  const held = s.send(alice, bob);
  const heldChainEpoch = decodeSpqrMessage(field5(held)).epoch - 1; // wire epoch e uses chain-epoch e − 1
  const spqr = () => bob.record(alice.address).current!.spqr!;
  let [from, to] = [bob, alice];
  const alternateUntilBobSendsIn = (chainEpoch: number) => {
    while (spqr().chain.sendEpoch < chainEpoch) {
      s.exchange(from, to);
      [from, to] = [to, from];
    }
  };
  // Bob's send epoch one past the held message's: its epoch is kept (the Double Ratchet has
  // long dropped its chain, so it is refused there, as libsignal refuses it).
  alternateUntilBobSendsIn(heldChainEpoch + 1);
  assert.ok(spqr().chain.epochs.some((e) => e.epoch === heldChainEpoch), 'one epoch back is kept');
  alternateUntilBobSendsIn(heldChainEpoch + 2);
  assert.ok(!spqr().chain.epochs.some((e) => e.epoch === heldChainEpoch), 'two epochs back is dropped');
  refusedUnchanged(bob, alice, held, 'spqr-epoch-out-of-range', s.send(alice, bob));
});

test('a record written before SPQR loads, decrypts nothing with SPQR, cannot send, and a new session replaces it', () => {
  const { alice, bob } = established();
  // A format-1 record: format-2 minus the SPQR state (bit 2 of the state flags).
  const state = bob.record(alice.address).current!;
  state.spqr = undefined;
  const bytes = bob.record(alice.address).serialize();
  assert.equal(bytes[0], 2);
  bytes[0] = 1;
  const legacy = SessionRecord.deserialize(bytes);
  assert.equal(legacy.hasCurrentSession(), false, 'a session without SPQR is not usable (libsignal ≥ 0.100)');
  bob.sessions.set('alice.1', legacy);
  assert.throws(() => bob.encrypt(alice.address, pt(1)), kind('spqr-session-unusable'));
  const before = legacy.serialize();
  assert.throws(() => bob.decrypt(alice.address, alice.encrypt(bob.address, pt(2))), kind('spqr-version-mismatch'));
  assert.deepEqual(legacy.serialize(), before);
  // Format 1 with the SPQR flag is malformed.
  const flagged = alice.record(bob.address).serialize();
  flagged[0] = 1;
  assert.throws(() => SessionRecord.deserialize(flagged), kind('invalid-message'));
  // The caller starts a new session: it works both ways.
  bob.processBundle(alice.address, alice.bundle(true));
  assert.equal(bob.record(alice.address).hasCurrentSession(), true);
  assert.deepEqual(alice.decrypt(bob.address, bob.encrypt(alice.address, pt(3))), pt(3));
  assert.deepEqual(bob.decrypt(alice.address, alice.encrypt(bob.address, pt(4))), pt(4));
});

/**
 * Bad input to SPQR: 100,000 random and mutated field-5 payloads, each inside a SignalMessage
 * decrypted against one session snapshot, give only named SignalError kinds and change no
 * state; the SPQR codec alone takes the same payloads without any other exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import { SIGNAL_ERROR_KINDS, SignalError, type Ciphertext } from '../../src/signal/index.js';
import { decodeSpqrMessage } from '../../src/signal/spqr-message.js';
import { decodeSignalMessage } from '../../src/signal/wire.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { mutate, prng, type Rng } from './fuzz.js';
import { spliceField5 } from './spqr-forge.js';

const backend = getBackend('node');
const INPUTS = 100_000;

/** Mostly small edits of valid payloads (they reach the braid and the chain), some random bytes. */
function field5Input(rng: Rng, valid: readonly Uint8Array[]): Uint8Array {
  const base = valid[rng.int(valid.length)]!;
  const input = edit(rng, base);
  return input.length < 128 ? input : input.subarray(0, 127);
}

function edit(rng: Rng, base: Uint8Array): Uint8Array {
  switch (rng.int(4)) {
    case 0: {
      const out = base.slice();
      out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1: {
      const out = base.slice();
      out[rng.int(Math.min(out.length, 4))] = rng.int(256); // version, epoch, index or type
      return out;
    }
    case 2:
      return mutate(rng, base);
    default:
      return rng.bytes(rng.int(48));
  }
}

function expectNamed(err: unknown): SignalError {
  assert.ok(err instanceof SignalError, `expected a SignalError, got ${String(err)}`);
  assert.ok(SIGNAL_ERROR_KINDS.includes(err.kind), `kind ${err.kind} is in the closed set`);
  return err;
}

test(`${INPUTS.toLocaleString('en')} random and mutated field-5 payloads: named kinds only, no state change`, () => {
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  alice.processBundle(bob.address, bob.bundle(true));
  // Into the epoch: Bob holds part of a header, then part of ct... a few dozen turns in.
  for (let i = 0; i < 40; i++) {
    const [from, to] = i % 2 ? [bob, alice] : [alice, bob];
    to.decrypt(from.address, from.encrypt(to.address, new Uint8Array([i])));
  }
  // Bob already has Alice's current Double Ratchet chain: no DH ratchet step per input.
  bob.decrypt(alice.address, alice.encrypt(bob.address, new Uint8Array([0])));
  const carriers: Ciphertext[] = [];
  const valid: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const ct = alice.encrypt(bob.address, new Uint8Array([i]));
    carriers.push(ct);
    valid.push(decodeSignalMessage(ct.body).pqRatchet);
  }
  const record = bob.record(alice.address);
  const snapshot = record.serialize();
  const rng = prng(0x5bad);
  const kinds = new Map<string, number>();
  for (let i = 0; i < INPUTS; i++) {
    const payload = field5Input(rng, valid);
    try {
      decodeSpqrMessage(payload);
    } catch (err) {
      expectNamed(err);
    }
    const carrier = rng.int(carriers.length);
    const original = valid[carrier]!;
    if (payload.length === original.length && payload.every((b, j) => b === original[j])) continue; // unchanged: valid
    const forged = spliceField5(carriers[carrier]!, payload);
    try {
      bob.decrypt(alice.address, forged);
      assert.fail('a message with a wrong MAC was accepted');
    } catch (err) {
      const k = expectNamed(err).kind;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    if (i % 20_000 === 0) assert.deepEqual(record.serialize(), snapshot, `state unchanged after ${i} inputs`);
  }
  assert.deepEqual(record.serialize(), snapshot, 'state unchanged');
  // The inputs reached every layer: the codec, the braid / chain, and the MAC behind them.
  for (const k of ['spqr-invalid-message', 'spqr-version-mismatch', 'spqr-minimum-version', 'spqr-epoch-out-of-range', 'bad-mac']) {
    assert.ok((kinds.get(k) ?? 0) > 0, `some inputs end in ${k}: ${JSON.stringify([...kinds])}`);
  }
  // And the session carries on.
  for (const ct of carriers) assert.equal(bob.decrypt(alice.address, ct).length, 1);
});

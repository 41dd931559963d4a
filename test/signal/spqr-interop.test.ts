/**
 * SPQR interop with libsignal-client 0.103.0 and 0.90.0, both directions, both backends: one
 * transcript per combination of ≥ 300 messages in strict alternation crossing ≥ 5 epochs,
 * bursts with silent stretches, shuffled delivery with 20 % loss (fixed seed) with every
 * duplicate refused, and a message held across an epoch change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { LIBSIGNAL_VERSIONS, LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import type { Ciphertext } from '../../src/signal/index.js';
import { decodeSpqrMessage } from '../../src/signal/spqr-message.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/signal/wire.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { seededRandom } from './fuzz.js';
import { ours, theirs, type Peer } from './peers.js';

/** The SPQR epoch a ciphertext was sent in (field 5 of the SignalMessage). */
export function wireEpoch(ct: Ciphertext): number {
  const message = ct.type === 3 ? decodePreKeySignalMessage(ct.body).message : decodeSignalMessage(ct.body);
  return decodeSpqrMessage(message.pqRatchet).epoch;
}

interface Sent {
  from: Peer;
  to: Peer;
  ct: Ciphertext;
  plaintext: Uint8Array;
}

class Transcript {
  serial = 0;
  delivered = 0;
  /** Highest wire epoch each side has sent in. */
  readonly epochs = new Map<Peer, number>();
  constructor(readonly a: Peer, readonly b: Peer) {}

  other(p: Peer): Peer {
    return p === this.a ? this.b : this.a;
  }

  async send(from: Peer): Promise<Sent> {
    const n = this.serial++;
    const plaintext = new TextEncoder().encode(`message ${n} ${'x'.repeat(n % 200)}`);
    const to = this.other(from);
    const ct = await from.encrypt(to.address, plaintext);
    this.epochs.set(from, Math.max(this.epochs.get(from) ?? 0, wireEpoch(ct)));
    return { from, to, ct, plaintext };
  }

  async deliver(m: Sent): Promise<void> {
    const got = await m.to.decrypt(m.from.address, m.ct).catch((e: unknown) => { throw new Error(`message ${new TextDecoder().decode(m.plaintext).slice(0, 12)} of ${this.serial} (${m.from.kind} → ${m.to.kind}, epochs ${this.epochs.get(this.a)}/${this.epochs.get(this.b)}): ${String(e)}`); });
    assert.deepEqual(new Uint8Array(got), m.plaintext, `${m.from.kind} → ${m.to.kind}`);
    this.delivered++;
  }

  async refused(m: Sent, what: string): Promise<void> {
    await assert.rejects(async () => m.to.decrypt(m.from.address, m.ct), `${what} is refused by ${m.to.kind}`);
  }

  epoch(): number {
    return Math.min(this.epochs.get(this.a) ?? 0, this.epochs.get(this.b) ?? 0);
  }
}

async function transcript(initiator: Peer, responder: Peer, seed: number): Promise<void> {
  const random = seededRandom(seed);
  await initiator.processBundle(responder.address, responder.bundle(true));
  const t = new Transcript(initiator, responder);

  // Strict alternation until both sides send in epoch 6 (five epochs completed).
  let sender = initiator;
  const alternationStart = t.serial;
  while (t.epoch() < 6 || t.serial - alternationStart < 300) {
    await t.deliver(await t.send(sender));
    sender = t.other(sender);
    assert.ok(t.serial < 1200, 'five epochs within 1200 alternating messages');
  }

  // Out of order across an epoch change: every turn the sender's second message is held back
  // for two turns (within the receiver's five Double Ratchet chains); go on until one held
  // message arrives after its receiver has started sending in a newer epoch.
  let crossed = 0;
  const heldBack: { m: Sent; turn: number }[] = [];
  for (let turn = 0; crossed < 1; turn++) {
    const from = turn % 2 === 0 ? initiator : responder;
    await t.deliver(await t.send(from));
    heldBack.push({ m: await t.send(from), turn });
    while (heldBack.length > 0 && heldBack[0]!.turn <= turn - 2) {
      const { m } = heldBack.shift()!;
      if (wireEpoch(m.ct) < (t.epochs.get(m.to) ?? 0)) crossed++;
      await t.deliver(m);
    }
    assert.ok(turn < 600, 'a held message crosses an epoch change');
  }
  for (const { m } of heldBack) await t.deliver(m);

  // Bursts with silent stretches: one side sends 1..25 messages while the other is silent.
  const burstStart = t.epoch();
  for (let burst = 0; burst < 20 || t.epoch() === burstStart; burst++) {
    assert.ok(burst < 200, 'bursts advance the epoch');
    const from = random() < 0.5 ? initiator : responder;
    const size = 1 + Math.floor(random() * 25);
    for (let i = 0; i < size; i++) await t.deliver(await t.send(from));
  }

  // Shuffled batches of 4 each way, 20 % lost, one delivered message replayed per batch.
  const shuffleStart = t.epoch();
  let replays = 0;
  for (let round = 0; round < 40 || t.epoch() === shuffleStart; round++) {
    assert.ok(round < 200, 'shuffled delivery with loss advances the epoch');
    const batch: Sent[] = [];
    for (const from of [initiator, responder]) for (let i = 0; i < 4; i++) batch.push(await t.send(from));
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    const delivered: Sent[] = [];
    for (const m of batch) {
      if (random() < 0.2) continue;
      await t.deliver(m);
      delivered.push(m);
    }
    if (delivered.length > 0) {
      await t.refused(delivered[Math.floor(random() * delivered.length)]!, 'a duplicate');
      replays++;
    }
  }
  assert.ok(replays >= 30, `${replays} duplicates refused`);
  // Still in step after everything.
  await t.deliver(await t.send(initiator));
  await t.deliver(await t.send(responder));
}

let seq = 0;
for (const version of LIBSIGNAL_VERSIONS) {
  for (const backendName of ['node', 'noble'] as BackendName[]) {
    const backend = getBackend(backendName);
    test(`SPQR with libsignal ${version}, libsignal initiates (${backendName})`, async () => {
      const peer = await LibsignalDevice.create(`ls-${seq}`, 1, undefined, version);
      await transcript(theirs(peer), ours(new SimulatedDevice(backend, { name: `us-${seq++}` })), 0x5eed + seq);
    });
    test(`SPQR with libsignal ${version}, we initiate (${backendName})`, async () => {
      const peer = await LibsignalDevice.create(`ls-${seq}`, 1, undefined, version);
      await transcript(ours(new SimulatedDevice(backend, { name: `us-${seq++}` })), theirs(peer), 0xbeef + seq);
    });
  }
}

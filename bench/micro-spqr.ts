/**
 * SPQR's share of the micro suite: the per-epoch operations as rates, and the per-epoch,
 * per-message and per-session figures that are not rates.
 *
 * Rates (ops/s, tinybench, backend-free: SPQR's ML-KEM and chunk coding take no backend):
 * - `signal/spqr/ml-kem-768/{keygen,encaps1,encaps2,decaps}`: the four ML-KEM-768 steps of an epoch.
 * - `signal/spqr/chunk/encode/ek`: one parity chunk of the 1152-byte encapsulation key vector
 *   (36 per call, from a fresh encoder, so its one-off log table is amortised as in an epoch).
 * - `signal/spqr/chunk/decode/ek`: rebuilding the vector from 36 parity chunks (the worst case).
 *
 * Figures recorded directly (one sample per repetition):
 * - `signal/spqr/epoch/{ek-sender,ct-sender}/<backend>` (CPU µs, lower): the CPU time one
 *   side spends in SPQR send + receive over one whole epoch in strict alternation, per role.
 * - `signal/wire/signal-message/{median,max}/160B` (bytes, lower): SignalMessage length over two
 *   epochs of strict alternation (a message carries at most one 32-byte chunk).
 * - `signal/session/serialized-vs-libsignal/{median,max}` (ratio, lower, goal ≤ 1): our
 *   initiator's serialized record ÷ libsignal 0.103's initiator record after the same messages.
 * - `signal/session/heap-per-session/<backend>` (bytes, lower): heap growth per established session
 *   (record after one message each way) held in memory, after a full GC.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type { BackendName, CryptoBackend } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import { ChunkDecoder, ChunkEncoder } from '../src/signal/erasure-code.js';
import {
  ENCAPSULATION_KEY_VECTOR_BYTES,
  decapsulate,
  encapsulateFirst,
  encapsulateSecond,
  generateBraidKeyPair,
} from '../src/signal/ml-kem-768-incremental.js';
import { SpqrState } from '../src/signal/spqr.js';
import { SessionRecord, decryptMessage, encryptMessage, processPreKeyBundle } from '../src/signal/index.js';
import { median } from '../src/harness/statistics/stats.js';
import type { MicroTask } from './micro-measure.js';
import type { SuiteContext } from '../src/harness/suite/suite.js';
import { createDevice, establishSession, plaintextOf } from '../src/harness/device/signal-device.js';

const EK_CHUNKS = ENCAPSULATION_KEY_VECTOR_BYTES / 32;

export const SPQR_RATE_IDS = [
  'signal/spqr/ml-kem-768/keygen',
  'signal/spqr/ml-kem-768/encaps1',
  'signal/spqr/ml-kem-768/encaps2',
  'signal/spqr/ml-kem-768/decaps',
  'signal/spqr/chunk/encode/ek',
  'signal/spqr/chunk/decode/ek',
] as const;

export function spqrFigureIds(backends: readonly BackendName[]): string[] {
  return [
    ...backends.flatMap((b) => [`signal/spqr/epoch/ek-sender/${b}`, `signal/spqr/epoch/ct-sender/${b}`, `signal/session/heap-per-session/${b}`]),
    'signal/wire/signal-message/median/160B',
    'signal/wire/signal-message/max/160B',
    'signal/session/serialized-vs-libsignal/median',
    'signal/session/serialized-vs-libsignal/max',
  ];
}

export function spqrRateTasks(): MicroTask[] {
  const params = { parameter_set: 'ML-KEM-768', spqr: 'V1' };
  const keys = generateBraidKeyPair();
  const first = encapsulateFirst(keys.header);
  const ct2 = encapsulateSecond(first.encapsulationState, keys.header, keys.encapsulationKeyVector);
  const encoder = new ChunkEncoder(keys.encapsulationKeyVector);
  const parity = Array.from({ length: EK_CHUNKS }, (_, i) => encoder.chunk(EK_CHUNKS + i));
  return [
    { id: 'signal/spqr/ml-kem-768/keygen', fn: () => generateBraidKeyPair(), params },
    { id: 'signal/spqr/ml-kem-768/encaps1', fn: () => encapsulateFirst(keys.header), params },
    { id: 'signal/spqr/ml-kem-768/encaps2', fn: () => encapsulateSecond(first.encapsulationState, keys.header, keys.encapsulationKeyVector), params },
    { id: 'signal/spqr/ml-kem-768/decaps', fn: () => decapsulate(keys.decapsulationKey, first.ct1, ct2), params },
    {
      id: 'signal/spqr/chunk/encode/ek',
      opsPerCall: EK_CHUNKS,
      fn: () => {
        const fresh = new ChunkEncoder(keys.encapsulationKeyVector);
        for (let i = 0; i < EK_CHUNKS; i++) fresh.chunk(EK_CHUNKS + i);
      },
      params: { ...params, payload_bytes: ENCAPSULATION_KEY_VECTOR_BYTES },
    },
    {
      id: 'signal/spqr/chunk/decode/ek',
      fn: () => {
        const decoder = new ChunkDecoder(ENCAPSULATION_KEY_VECTOR_BYTES);
        parity.forEach((chunk, i) => decoder.add(EK_CHUNKS + i, chunk));
        return decoder.payload();
      },
      params: { ...params, payload_bytes: ENCAPSULATION_KEY_VECTOR_BYTES, chunks: 'all parity' },
    },
  ];
}

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/**
 * CPU µs per epoch per role: both sides alternate send → receive; each call is charged to its
 * side's role then. CPU time, not wall: on a shared machine a descheduled call would otherwise
 * charge tens of ms to whichever role was running.
 */
function epochMicros(backend: CryptoBackend, epochs: number): { ekSender: number; ctSender: number } {
  const authKey = backend.randomBytes(32);
  const sides = [SpqrState.start(backend, authKey, true), SpqrState.start(backend, authKey, false)];
  const spent = { ek: 0, ct: 0 };
  // The initiator is ek sender in odd epochs, the responder in even ones.
  const role = (side: number, epoch: number): 'ek' | 'ct' => ((side === 0) === (epoch % 2 === 1) ? 'ek' : 'ct');
  const startEpoch = sides[0]!.epoch;
  for (let turn = 0; sides[0]!.epoch < startEpoch + epochs; turn++) {
    const from = turn % 2;
    const to = 1 - from;
    let t = cpuMicros();
    const sent = sides[from]!.send(backend);
    let now = cpuMicros();
    spent[role(from, sides[from]!.epoch)] += now - t;
    t = now;
    sides[to] = sides[to]!.receive(backend, sent.message).next;
    now = cpuMicros();
    spent[role(to, sides[to]!.epoch)] += now - t;
  }
  return { ekSender: spent.ek / epochs, ctSender: spent.ct / epochs };
}

/** SignalMessage lengths over `messages` of strict alternation on our node-or-first backend. */
function wireBytes(backend: CryptoBackend, messages: number): number[] {
  const text = plaintextOf(160);
  const alice = createDevice(backend, 1);
  const bob = createDevice(backend, 1);
  const s = establishSession(backend, alice, bob, text);
  const lengths: number[] = [];
  for (let i = 0; i < messages; i++) {
    const [fromLocal, toLocal, from, to] = i % 2 === 0 ? [alice.local, bob.local, s.initiator, s.responder] : [bob.local, alice.local, s.responder, s.initiator];
    const ct = encryptMessage(backend, fromLocal, from, text);
    lengths.push(ct.body.length);
    decryptMessage(backend, toLocal, to, ct);
  }
  return lengths;
}

/** Initiator record sizes after each of `messages` alternating messages, with our device or libsignal 0.103's as initiator. */
async function serializedRatios(backend: CryptoBackend, messages: number): Promise<number[]> {
  const { LibsignalDevice } = await import('../src/harness/device/libsignal-peer.js');
  const text = plaintextOf(160);
  const sizes: Record<'ours' | 'libsignal', number[]> = { ours: [], libsignal: [] };
  for (const weInitiate of [true, false]) {
    const ours = createDevice(backend, 1);
    const theirs = await LibsignalDevice.create('peer', 1);
    const oursAddress = { name: 'ours', deviceId: 1 };
    const record = SessionRecord.empty();
    if (weInitiate) processPreKeyBundle(backend, ours.local, record, theirs.bundle());
    else await theirs.processBundle(oursAddress, ours.bundle(true));
    for (let i = 0; i < messages; i++) {
      if ((i % 2 === 0) === weInitiate) await theirs.decrypt(oursAddress, encryptMessage(backend, ours.local, record, text));
      else decryptMessage(backend, ours.local, record, await theirs.encrypt(oursAddress, text), ours.lookup);
      sizes[weInitiate ? 'ours' : 'libsignal'].push(weInitiate ? record.serialize().length : (await theirs.sessionRecordBytes(oursAddress))!.length);
    }
  }
  return sizes.ours.map((o, i) => o / sizes.libsignal[i]!);
}

const fullGc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
})();

/** Heap bytes per established session (both records of a pair count as two sessions). */
function heapPerSession(backend: CryptoBackend, pairs: number): number {
  const text = plaintextOf(160);
  const alice = createDevice(backend, 1);
  const bob = createDevice(backend, 1);
  const held: SessionRecord[] = [];
  establishSession(backend, alice, bob, text); // compiled before the first reading
  fullGc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < pairs; i++) {
    const s = establishSession(backend, alice, bob, text);
    held.push(s.initiator, s.responder);
  }
  fullGc();
  const after = process.memoryUsage().heapUsed;
  return held.length === 0 ? 0 : (after - before) / held.length;
}

/** Records the non-rate SPQR figures: one sample per repetition each. */
export async function recordSpqrFigures(ctx: SuiteContext, suite: string): Promise<void> {
  const record = (id: string, unit: string, samples: number[], params: Record<string, string | number | boolean>): void => {
    if (ctx.wants(id) && samples.length > 0) ctx.record({ id, suite, unit, better: 'lower', params, samples });
  };
  // Epochs per sample and session pairs per heap reading, kept small where the profile must be
  // short (quick is npm run bench's 5 minutes; a noble session setup costs ≈ 15 ms, a noble epoch
  // ≈ 0.5 s): the per-epoch CPU and the heap per session are averages over them.
  const EPOCHS = ctx.profile === 'smoke' ? 2 : ctx.profile === 'quick' ? 3 : 6;
  const heapPairs = (name: string): number => (ctx.profile === 'smoke' || ctx.profile === 'quick' ? (name === 'noble' ? 20 : 100) : 200);
  const MESSAGES = 180; // two epochs and more of strict alternation
  for (const name of ctx.backends) {
    const backend = getBackend(name);
    const ek: number[] = [];
    const ct: number[] = [];
    const heap: number[] = [];
    const wantsEpoch = ctx.wants(`signal/spqr/epoch/ek-sender/${name}`) || ctx.wants(`signal/spqr/epoch/ct-sender/${name}`);
    const wantsHeap = ctx.wants(`signal/session/heap-per-session/${name}`);
    if (wantsEpoch) epochMicros(backend, 2); // warm-up: first-use provider checks, JIT
    for (let rep = 0; rep < ctx.repetitions && !ctx.signal.aborted && (wantsEpoch || wantsHeap); rep++) {
      if (wantsEpoch) {
        const e = epochMicros(backend, EPOCHS);
        ek.push(e.ekSender);
        ct.push(e.ctSender);
      }
      if (wantsHeap) heap.push(heapPerSession(backend, heapPairs(name)));
    }
    const params = { backend: name, epochs: EPOCHS, alternation: 'strict' };
    record(`signal/spqr/epoch/ek-sender/${name}`, 'cpu-µs', ek, params);
    record(`signal/spqr/epoch/ct-sender/${name}`, 'cpu-µs', ct, params);
    record(`signal/session/heap-per-session/${name}`, 'bytes', heap, { backend: name, messages: 2, pairs: heapPairs(name) });
  }
  const backend = getBackend(ctx.backends.includes('node') ? 'node' : ctx.backends[0]!);
  const wire = { median: [] as number[], max: [] as number[] };
  const serialized = { median: [] as number[], max: [] as number[] };
  const wantsSerialized = ctx.wants('signal/session/serialized-vs-libsignal/median') || ctx.wants('signal/session/serialized-vs-libsignal/max');
  // Fresh sessions per repetition (lengths are deterministic; record sizes follow the same transcript).
  const wantsWire = ctx.wants('signal/wire/signal-message/median/160B') || ctx.wants('signal/wire/signal-message/max/160B');
  for (let rep = 0; rep < ctx.repetitions && !ctx.signal.aborted && (wantsWire || wantsSerialized); rep++) {
    const lengths = wireBytes(backend, MESSAGES);
    wire.median.push(median(lengths));
    wire.max.push(Math.max(...lengths));
    if (!wantsSerialized) continue;
    const ratios = await serializedRatios(backend, MESSAGES);
    serialized.median.push(median(ratios));
    serialized.max.push(Math.max(...ratios));
  }
  const wireParams = { plaintext_bytes: 160, messages: MESSAGES, alternation: 'strict' };
  record('signal/wire/signal-message/median/160B', 'bytes', wire.median, wireParams);
  record('signal/wire/signal-message/max/160B', 'bytes', wire.max, wireParams);
  const ratioParams = { against: 'libsignal-client 0.103.0', role: 'initiator', messages: MESSAGES, goal: '<= 1' };
  record('signal/session/serialized-vs-libsignal/median', 'ratio', serialized.median, ratioParams);
  record('signal/session/serialized-vs-libsignal/max', 'ratio', serialized.max, ratioParams);
}

/**
 * node dist/scripts/signal-figures.js [--rounds 7] [--round-ms 400] [--backends node,noble]
 *
 * A figures script, not a test: prints the figures of the Signal-core issues for the closing
 * note, measured in one thread, in one process, against @signalapp/libsignal-client 0.103.0
 * (the anchor) and 0.90.0 with in-memory stores (src/harness/device/libsignal-peer.ts); all run SPQR:
 *
 *   1. message: encrypt + decrypt of 160 B on an established session, the direction alternating
 *      every call so SPQR epochs complete (a round of 400 ms spans many epochs), ours ÷ libsignal
 *      0.103 (goal ≥ 5×, node)
 *   2. setup: bundle → first PreKey message → responder decrypts it, ours ÷ libsignal 0.103 (goal ≥ 2×, node)
 *   3. bytes on the wire per SignalMessage of 160 B over two epochs of strict alternation
 *      (median, min and max), ours and libsignal 0.103
 *   4. serialized session record bytes, ours ÷ libsignal 0.103's record in the same state: the
 *      same role after the same messages of a strict alternation (median and max over it)
 *
 * The workload is the micro suite's (bench/micro-signal.ts, src/harness/device/signal-device.ts): the same
 * devices, the same 160-byte plaintext, our setup replaying one bundle with a one-time prekey,
 * libsignal's setup with a fresh one-time prekey per run (made untimed, as libsignal deletes
 * used ones). Ours and libsignal's tasks are interleaved: every round runs every task for
 * `round-ms` (order rotated per round), so both see the same machine load. Per task the rate
 * of a round is calls ÷ timed seconds; a figure is the median over rounds of the per-round
 * ratio (ours ÷ libsignal, in ops/s, so > 1 means we are faster). Round 0 is a warm-up and is
 * dropped. Next to wall-clock time (what the micro suite measures) it prints the same ratio in
 * this process's CPU time, which other processes on a shared machine disturb much less.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import type { BackendName } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import { LIBSIGNAL_VERSIONS, LibsignalDevice } from '../src/harness/device/libsignal-peer.js';
import { SessionRecord, decryptMessage, encryptMessage, processPreKeyBundle } from '../src/signal/index.js';
import { alternating, createDevice, establishSession, plaintextOf, setUpSession } from '../src/harness/device/signal-device.js';
import { median } from '../src/harness/statistics/stats.js';

interface FigureTask {
  id: string;
  /** Untimed preparation before each call. */
  prepare?: () => void;
  run: () => unknown;
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'round-ms': { type: 'string', default: '400' },
    backends: { type: 'string', default: 'node,noble' },
  },
});
const rounds = Number(values.rounds);
const roundMs = Number(values['round-ms']);
const backendList = values.backends!.split(',').filter((b): b is BackendName => b === 'node' || b === 'noble');
if (!(rounds >= 1) || !(roundMs > 0) || backendList.length === 0) {
  console.error('usage: signal-figures [--rounds n>=1] [--round-ms ms>0] [--backends node,noble]');
  process.exit(2);
}

const text = plaintextOf(160);
const tasks: FigureTask[] = [];

for (const name of backendList) {
  const backend = getBackend(name);
  const alice = createDevice(backend, 1);
  const bob = createDevice(backend, 1);
  const bundle = bob.bundle(true);
  const stream = establishSession(backend, alice, bob, text);
  tasks.push({
    id: `message/${name}`,
    run: alternating((forward) =>
      forward
        ? decryptMessage(backend, bob.local, stream.responder, encryptMessage(backend, alice.local, stream.initiator, text))
        : decryptMessage(backend, alice.local, stream.initiator, encryptMessage(backend, bob.local, stream.responder, text)),
    ),
  });
  tasks.push({ id: `setup/${name}`, run: () => setUpSession(backend, alice, bob, text, bundle) });
}

for (const version of LIBSIGNAL_VERSIONS) {
  const lsAlice = await LibsignalDevice.create('alice', 1, undefined, version);
  const lsBob = await LibsignalDevice.create('bob', 1, undefined, version);
  let lsBundle = lsBob.bundle({ oneTimePreKey: true });
  const lsAlice2 = await LibsignalDevice.create('alice2', 1, undefined, version);
  const lsBob2 = await LibsignalDevice.create('bob2', 1, undefined, version);
  await lsAlice2.processBundle(lsBob2.address, lsBob2.bundle());
  await lsBob2.decrypt(lsAlice2.address, await lsAlice2.encrypt(lsBob2.address, text));
  await lsAlice2.decrypt(lsBob2.address, await lsBob2.encrypt(lsAlice2.address, text));
  tasks.push({
    id: `message/libsignal-${version}`,
    run: alternating(async (forward) =>
      forward
        ? lsBob2.decrypt(lsAlice2.address, await lsAlice2.encrypt(lsBob2.address, text))
        : lsAlice2.decrypt(lsBob2.address, await lsBob2.encrypt(lsAlice2.address, text)),
    ),
  });
  tasks.push({
    id: `setup/libsignal-${version}`,
    prepare: () => {
      lsBundle = lsBob.bundle({ oneTimePreKey: true });
    },
    run: async () => {
      await lsAlice.processBundle(lsBob.address, lsBundle);
      await lsBob.decrypt(lsAlice.address, await lsAlice.encrypt(lsBob.address, text));
    },
  });
}

interface RoundRate {
  /** Calls per wall-clock second (what the micro suite reports). */
  wall: number;
  /** Calls per second of this process's CPU time (less disturbed by other processes). */
  cpu: number;
}

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** Runs `task` for about `ms` of timed work (preparation untimed). */
async function measure(task: FigureTask, ms: number): Promise<RoundRate> {
  let timedNs = 0n;
  let cpuUs = 0;
  let calls = 0;
  const budgetNs = BigInt(Math.round(ms * 1e6));
  const loopCpuStart = cpuMicros();
  while (timedNs < budgetNs || calls < 2) {
    if (task.prepare !== undefined) {
      task.prepare();
      const cpuStart = cpuMicros();
      const start = process.hrtime.bigint();
      const out = task.run();
      if (out instanceof Promise) await out;
      timedNs += process.hrtime.bigint() - start;
      cpuUs += cpuMicros() - cpuStart;
    } else {
      const start = process.hrtime.bigint();
      const out = task.run();
      if (out instanceof Promise) await out;
      timedNs += process.hrtime.bigint() - start;
    }
    calls += 1;
  }
  if (task.prepare === undefined) cpuUs = cpuMicros() - loopCpuStart;
  return { wall: calls / (Number(timedNs) / 1e9), cpu: calls / (Math.max(cpuUs, 1) / 1e6) };
}

const rates = new Map<string, RoundRate[]>(tasks.map((t) => [t.id, []]));
const load = loadavg();
console.log(`signal figures: ${rounds} rounds × ${roundMs} ms per task (+1 warm-up round), Node ${process.version}, load average ${load.map((l) => l.toFixed(1)).join(' ')}`);
for (let round = 0; round <= rounds; round++) {
  const order = tasks.map((_, i) => tasks[(i + round) % tasks.length]!);
  for (const task of order) {
    const rate = await measure(task, round === 0 ? roundMs / 2 : roundMs);
    if (round > 0) rates.get(task.id)!.push(rate);
  }
}

const us = (opsPerSecond: number): string => (1e6 / opsPerSecond).toFixed(0).padStart(6);
function figure(kind: 'message' | 'setup', goal: number): void {
  const theirs = rates.get(`${kind}/libsignal-0.103.0`)!;
  const title = kind === 'message' ? 'message: encrypt+decrypt 160 B, established session, alternating (whole SPQR epochs)' : 'session setup: bundle → first PreKey message → responder decrypt';
  console.log(`\n${title}  (per call: wall µs / CPU µs; ratio = ours ÷ libsignal 0.103 in ops/s, median of per-round ratios)`);
  for (const version of LIBSIGNAL_VERSIONS) {
    const r = rates.get(`${kind}/libsignal-${version}`)!;
    console.log(`  libsignal ${version.padEnd(8)} ${us(median(r.map((x) => x.wall)))} / ${us(median(r.map((x) => x.cpu)))}`);
  }
  for (const name of backendList) {
    const ours = rates.get(`${kind}/${name}`)!;
    const wallRatios = ours.map((r, i) => r.wall / theirs[i]!.wall);
    const cpuRatios = ours.map((r, i) => r.cpu / theirs[i]!.cpu);
    const wallRatio = median(wallRatios);
    const goalText = name === 'node' ? `   goal ≥ ${goal}× (wall): ${wallRatio >= goal ? 'met' : 'not met'}` : '';
    console.log(
      `  ours, ${name.padEnd(6)}      ${us(median(ours.map((r) => r.wall)))} / ${us(median(ours.map((r) => r.cpu)))}` +
        `   wall ${wallRatio.toFixed(2)}× [${Math.min(...wallRatios).toFixed(2)}–${Math.max(...wallRatios).toFixed(2)}]` +
        `   CPU ${median(cpuRatios).toFixed(2)}× [${Math.min(...cpuRatios).toFixed(2)}–${Math.max(...cpuRatios).toFixed(2)}]${goalText}`,
    );
  }
}
figure('message', 5);
figure('setup', 2);

// 3 and 4. A strict alternation over two SPQR epochs (about 180 messages) between our core and
// libsignal 0.103, once with us as initiator and once with libsignal: bytes on the wire per
// SignalMessage, and the serialized record of each role after every message, ours ÷ libsignal's.
{
  const backend = getBackend(backendList[0]!);
  const MESSAGES = 180;
  const wire = { ours: [] as number[], libsignal: [] as number[] };
  const recordRatios: number[] = [];
  const recordBytes = { ours: [] as number[], libsignal: [] as number[] };
  /** Per message index, the initiator's record size when the initiator is ours / libsignal. */
  const initiatorSizes: { ours: number[]; libsignal: number[] } = { ours: [], libsignal: [] };
  for (const weInitiate of [true, false]) {
    const ours = createDevice(backend, 1);
    const theirs = await LibsignalDevice.create('peer', 1);
    const oursAddress = { name: 'ours', deviceId: 1 };
    const record = SessionRecord.empty();
    const send = { ours: (pt: Uint8Array) => encryptMessage(backend, ours.local, record, pt), libsignal: (pt: Uint8Array) => theirs.encrypt(oursAddress, pt) };
    if (weInitiate) processPreKeyBundle(backend, ours.local, record, theirs.bundle());
    else await theirs.processBundle(oursAddress, ours.bundle(true));
    for (let i = 0; i < MESSAGES; i++) {
      const fromInitiator = i % 2 === 0;
      const fromUs = fromInitiator === weInitiate;
      if (fromUs) {
        const ct = send.ours(text);
        if (ct.type === 2) wire.ours.push(ct.body.length);
        await theirs.decrypt(oursAddress, ct);
      } else {
        const ct = await send.libsignal(text);
        if (ct.type === 2) wire.libsignal.push(ct.body.length);
        decryptMessage(backend, ours.local, record, ct, ours.lookup);
      }
      const size = record.serialize().length;
      const theirSize = (await theirs.sessionRecordBytes(oursAddress))!.length;
      initiatorSizes[weInitiate ? 'ours' : 'libsignal'].push(weInitiate ? size : theirSize);
      recordBytes.ours.push(size);
      recordBytes.libsignal.push(theirSize);
    }
  }
  // Same role, same messages: the initiator's record, ours (first run) ÷ libsignal's (second run).
  initiatorSizes.ours.forEach((o, i) => recordRatios.push(o / initiatorSizes.libsignal[i]!));
  const stats = (xs: number[]) => `median ${median(xs).toFixed(0)}, min ${Math.min(...xs)}, max ${Math.max(...xs)}`;
  console.log('\nbytes on the wire per SignalMessage of 160 B, two epochs of strict alternation');
  console.log(`  ours ${stats(wire.ours)}   libsignal 0.103 ${stats(wire.libsignal)}`);
  console.log('\nserialized session record bytes over the same transcripts (every role and message)');
  console.log(`  ours ${stats(recordBytes.ours)}   libsignal 0.103 ${stats(recordBytes.libsignal)}`);
  console.log(`  initiator's record, ours ÷ libsignal 0.103 in the same state: median ${median(recordRatios).toFixed(2)}, max ${Math.max(...recordRatios).toFixed(2)} (goal ≤ 1)`);
}

/**
 * node dist/scripts/signal-figures.js [--rounds 7] [--round-ms 400] [--backends node,noble]
 *
 * A figures script, not a test: prints the three figures of the Signal-core issue for the
 * closing note, measured in one thread, in one process, against @signalapp/libsignal-client
 * 0.90.0 with in-memory stores (src/harness/device/libsignal-peer.ts):
 *
 *   1. message: encrypt + decrypt of 160 B on an established session, ours ÷ libsignal (goal ≥ 5×, node)
 *   2. setup: bundle → first PreKey message → responder decrypts it, ours ÷ libsignal (goal ≥ 2×, node)
 *   3. serialized session record bytes, ours vs libsignal (after one message each way, after 12 turns)
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
import { LibsignalDevice } from '../src/harness/device/libsignal-peer.js';
import { decryptMessage, encryptMessage } from '../src/signal/index.js';
import { createDevice, establishSession, plaintextOf, setUpSession } from '../src/harness/device/signal-device.js';
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
    run: () => decryptMessage(backend, bob.local, stream.responder, encryptMessage(backend, alice.local, stream.initiator, text)),
  });
  tasks.push({ id: `setup/${name}`, run: () => setUpSession(backend, alice, bob, text, bundle) });
}

const lsAlice = await LibsignalDevice.create('alice', 1);
const lsBob = await LibsignalDevice.create('bob', 1);
let lsBundle = lsBob.bundle({ oneTimePreKey: true });
const lsAlice2 = await LibsignalDevice.create('alice2', 1);
const lsBob2 = await LibsignalDevice.create('bob2', 1);
await lsAlice2.processBundle(lsBob2.address, lsBob2.bundle());
await lsBob2.decrypt(lsAlice2.address, await lsAlice2.encrypt(lsBob2.address, text));
await lsAlice2.decrypt(lsBob2.address, await lsBob2.encrypt(lsAlice2.address, text));
tasks.push({
  id: 'message/libsignal',
  run: async () => lsBob2.decrypt(lsAlice2.address, await lsAlice2.encrypt(lsBob2.address, text)),
});
tasks.push({
  id: 'setup/libsignal',
  prepare: () => {
    lsBundle = lsBob.bundle({ oneTimePreKey: true });
  },
  run: async () => {
    await lsAlice.processBundle(lsBob.address, lsBundle);
    await lsBob.decrypt(lsAlice.address, await lsAlice.encrypt(lsBob.address, text));
  },
});

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
  const theirs = rates.get(`${kind}/libsignal`)!;
  const title = kind === 'message' ? 'message: encrypt+decrypt 160 B, established session' : 'session setup: bundle → first PreKey message → responder decrypt';
  console.log(`\n${title}  (per call: wall µs / CPU µs; ratio = ours ÷ libsignal in ops/s, median of per-round ratios)`);
  console.log(`  libsignal 0.90.0  ${us(median(theirs.map((r) => r.wall)))} / ${us(median(theirs.map((r) => r.cpu)))}`);
  for (const name of backendList) {
    const ours = rates.get(`${kind}/${name}`)!;
    const wallRatios = ours.map((r, i) => r.wall / theirs[i]!.wall);
    const cpuRatios = ours.map((r, i) => r.cpu / theirs[i]!.cpu);
    const wallRatio = median(wallRatios);
    const goalText = name === 'node' ? `   goal ≥ ${goal}× (wall): ${wallRatio >= goal ? 'met' : 'not met'}` : '';
    console.log(
      `  ours, ${name.padEnd(6)}     ${us(median(ours.map((r) => r.wall)))} / ${us(median(ours.map((r) => r.cpu)))}` +
        `   wall ${wallRatio.toFixed(2)}× [${Math.min(...wallRatios).toFixed(2)}–${Math.max(...wallRatios).toFixed(2)}]` +
        `   CPU ${median(cpuRatios).toFixed(2)}× [${Math.min(...cpuRatios).toFixed(2)}–${Math.max(...cpuRatios).toFixed(2)}]${goalText}`,
    );
  }
}
figure('message', 5);
figure('setup', 2);

// 3. Serialized session records, ours vs libsignal, after one message each way and after 12 turns.
{
  const backend = getBackend(backendList[0]!);
  const alice = createDevice(backend, 1);
  const bob = createDevice(backend, 1);
  const pair = establishSession(backend, alice, bob, text);
  const oursOne = [pair.initiator.serialize().length, pair.responder.serialize().length];
  const a = await LibsignalDevice.create('alice3', 1);
  const b = await LibsignalDevice.create('bob3', 1);
  await a.processBundle(b.address, b.bundle());
  await b.decrypt(a.address, await a.encrypt(b.address, text));
  await a.decrypt(b.address, await b.encrypt(a.address, text));
  const lsSize = async (): Promise<number[]> => [
    (await a.sessionRecordBytes(b.address))!.length,
    (await b.sessionRecordBytes(a.address))!.length,
  ];
  const theirsOne = await lsSize();
  for (let turn = 0; turn < 12; turn++) {
    decryptMessage(backend, bob.local, pair.responder, encryptMessage(backend, alice.local, pair.initiator, text));
    decryptMessage(backend, alice.local, pair.initiator, encryptMessage(backend, bob.local, pair.responder, text));
    await b.decrypt(a.address, await a.encrypt(b.address, text));
    await a.decrypt(b.address, await b.encrypt(a.address, text));
  }
  const oursTwelve = [pair.initiator.serialize().length, pair.responder.serialize().length];
  const theirsTwelve = await lsSize();
  console.log('\nserialized session record (initiator / responder, bytes)');
  console.log(`  after one message each way:  ours ${oursOne.join(' / ')}   libsignal ${theirsOne.join(' / ')}`);
  console.log(`  after 12 more turns:         ours ${oursTwelve.join(' / ')}   libsignal ${theirsTwelve.join(' / ')}`);
}

/**
 * The instructions suite's measuring process, run by bench/instructions.ts under
 * `valgrind --tool=callgrind` with `node --predictable --expose-gc --random-seed=<seed>`.
 *
 * For each benchmark: set up (src/harness/device/signal-device.ts; the memory store for sweeps), warm up
 * with uncounted calls until V8 has optimised the operation, then take `samples` samples. A
 * sample is the median of three sub-samples; a sub-sample counts `calls` operations in one
 * callgrind window (bench/callgrind.ts) after a minor collection, ÷ calls (operations that need
 * an uncounted preparation, like a sweep that needs expired messages, get one window each).
 * The test-only slowdown is work-based (src/harness/suite/slowdown.ts `wrapWork`): the operation runs
 * once more on `slowdown` of its calls, inside the window.
 *
 * Input: one JSON argument (an InstructionJob). Output: JSON lines on stdout, each an
 * InstructionChildMessage. Exits non-zero on error (after an `error` line).
 */
import type { BackendName } from '../src/crypto/backend.js';
import { getBackend } from '../src/crypto/index.js';
import { retentionSweep } from '../src/server/retention.js';
import { encryptMessage } from '../src/signal/index.js';
import { SpqrState } from '../src/signal/spqr.js';
import type { MessageRecord } from '../src/store/store.js';
import { CallgrindWindows } from './callgrind.js';
import { DAY_MS, HOUR_MS, START_MS, spreadMessage, storeWithBusiness, USERS } from './retention-store.js';
import { slowdownFor } from '../src/harness/suite/slowdown.js';
import { createDevice, establishSession, plaintextOf, sendAndReceive, setUpSession } from '../src/harness/device/signal-device.js';

export type SignalOperation = 'session-setup' | 'message' | 'ratchet-encrypt' | 'spqr-epoch';

interface CountedBenchmark {
  id: string;
  /** Operations per sub-sample (one window, or one window each when the operation has a preparation). */
  calls: number;
  /** Uncounted calls before the first window. */
  warmupCalls: number;
  /** Test-only work-based slowdown fraction (0: none). */
  slowdown: number;
}

export type InstructionBenchmarkJob =
  | (CountedBenchmark & { kind: SignalOperation; backend: BackendName })
  | (CountedBenchmark & { kind: 'sweep'; total: number; expired: number });

export interface InstructionJob {
  /** Directory given to callgrind's --callgrind-out-file (dumps are read and deleted here). */
  outDir: string;
  /** Windows (samples) per benchmark in this process. */
  samples: number;
  benchmarks: InstructionBenchmarkJob[];
}

export type InstructionChildMessage =
  | { type: 'progress'; fraction: number; label: string }
  /** `discarded`: the settling sub-samples counted after the warm-up and thrown away (for diagnosis). */
  | { type: 'samples'; id: string; samples: number[]; params: Record<string, string | number | boolean>; discarded: number[] }
  | { type: 'check'; id: string; passed: boolean; detail: string }
  | { type: 'error'; message: string };

/** One operation: `run` is counted; `prepare` (optional) runs before it, uncounted. */
interface Operation {
  run: () => unknown;
  prepare?: () => Promise<void>;
  params: Record<string, string | number | boolean>;
  /** An invariant checked after the windows (reported as a check of the run). */
  check?: () => { id: string; passed: boolean; detail: string };
}

function emit(message: InstructionChildMessage): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

/** A minor collection before every window: each window starts with an empty young generation. */
function youngCollection(): void {
  const collect = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  if (!collect) throw new Error('instructions-child needs node --expose-gc');
  collect({ type: 'minor' });
}

function signalOperation(kind: SignalOperation, backendName: BackendName): Operation {
  const b = getBackend(backendName);
  const text = plaintextOf(160);
  const alice = createDevice(b, 1);
  const bob = createDevice(b, 1);
  const params = { backend: backendName, plaintext_bytes: 160, one_time_prekey: true };
  if (kind === 'session-setup') {
    const bundle = bob.bundle(true);
    return { run: () => setUpSession(b, alice, bob, text, bundle), params };
  }
  if (kind === 'spqr-epoch') return spqrEpochOperation(b, backendName);
  const pair = establishSession(b, alice, bob, text);
  if (kind === 'message') return { run: () => sendAndReceive(b, alice, pair.initiator, bob, pair.responder, text), params };
  return { run: () => encryptMessage(b, alice.local, pair.initiator, text), params };
}

/**
 * One whole SPQR epoch, both roles, in strict alternation (SpqrState send → peer receive): the
 * ek sender's keygen and decapsulation, the ct sender's encaps1 and encaps2, every chunk encoded
 * and decoded and every chain key, without the Double Ratchet around it. Epochs alternate the
 * two sides' roles; every epoch has both, so consecutive epochs count nearly the same work.
 */
function spqrEpochOperation(b: ReturnType<typeof getBackend>, backendName: BackendName): Operation {
  const authKey = new Uint8Array(32).fill(7);
  const sides = [SpqrState.start(b, authKey, true), SpqrState.start(b, authKey, false)];
  let turn = 0;
  return {
    run: () => {
      const until = sides[0]!.epoch + 1;
      while (sides[0]!.epoch < until) {
        const from = turn % 2;
        sides[1 - from] = sides[1 - from]!.receive(b, sides[from]!.send(b).message).next;
        turn++;
      }
    },
    params: { backend: backendName, spqr: 'V1', alternation: 'strict', roles: 'both' },
  };
}

/**
 * The retention suite's sweep (bench/retention-child.ts) at a size valgrind can build: `expired`
 * messages in the first 6 hours, the rest over the following 29 days, the clock 30 days after the
 * first kept message; before each counted sweep the expired messages are appended again, uncounted.
 */
async function sweepOperation(total: number, expired: number): Promise<Operation> {
  if (!(Number.isInteger(expired) && expired > 0 && expired < total)) throw new Error(`sweep: expired ${expired} must be an integer in 1..total-1 (${total})`);
  const store = await storeWithBusiness();
  const sealed = new Uint8Array(188);
  const message = (i: number, n: number, fromMs: number, spanMs: number): MessageRecord => spreadMessage(i, n, fromMs, spanMs, sealed);
  const expiredSpanMs = 6 * HOUR_MS;
  const expiredRecords = Array.from({ length: expired }, (_, i) => message(i, expired, START_MS, expiredSpanMs));
  const kept = total - expired;
  await store.appendMessages(Array.from({ length: kept }, (_, i) => message(i, kept, START_MS + expiredSpanMs, 29 * DAY_MS)));
  const nowMs = START_MS + expiredSpanMs + 30 * DAY_MS - 1;
  const clock = { now: () => nowMs };
  const wrong: number[] = [];
  return {
    prepare: () => store.appendMessages(expiredRecords),
    run: async () => {
      const result = await retentionSweep(store, clock);
      if (result.messages_deleted !== expired) wrong.push(result.messages_deleted);
    },
    params: { store: 'memory', total_messages: total, expired_messages: expired, users: USERS, cutoff: 'on a bucket boundary' },
    check: () => ({
      id: `instr/retention/sweep/deletes-exactly-expired/total=${total}`,
      passed: wrong.length === 0,
      detail: wrong.length === 0 ? `every sweep deleted exactly the ${expired} expired messages` : `sweeps deleted ${wrong.slice(0, 5).join(', ')} instead of ${expired}`,
    }),
  };
}

/**
 * A sample is the median of this many sub-samples. Even after thousands of calls V8 still
 * optimises a function now and then (TurboFan, synchronous on the main thread under
 * --predictable), which adds 1–5 M instructions to the window it lands in; the median of three
 * ignores such a one-off, while a change in every call moves all three.
 */
const SUBSAMPLES = 3;
/**
 * After the uncounted warm-up calls, sub-samples are counted and thrown away until three in a
 * row agree within SETTLED_SPREAD of their median (at most MAX_SETTLING of them): first-call
 * compilation of the window's own code and the last tier-ups of the operation fall there.
 */
const SETTLED_SPREAD = 0.01;
const MAX_SETTLING = 12;

const middle = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function countBenchmark(windows: CallgrindWindows, job: InstructionJob, benchmark: InstructionBenchmarkJob, span: [number, number]): Promise<void> {
  const operation = benchmark.kind === 'sweep' ? await sweepOperation(benchmark.total, benchmark.expired) : signalOperation(benchmark.kind, benchmark.backend);
  const { run, prepare } = operation;
  emit({ type: 'progress', fraction: span[0], label: `${benchmark.id}: warm-up` });
  const slowdown = slowdownFor(benchmark.id, benchmark.slowdown > 0 ? { pattern: benchmark.id, fraction: benchmark.slowdown } : undefined);
  // One sub-sample: `calls` operations in one window, or, when each needs an uncounted
  // preparation, the mean of `calls` one-operation windows. The slowdown's extra runs are
  // counted like the others and never divided out. The warm-up runs the same functions the
  // windows run (V8 optimises the batch loop itself too, and that compilation must not land
  // in a window).
  let subsample: () => Promise<number>;
  if (prepare) {
    for (let i = 0; i < benchmark.warmupCalls; i++) {
      await prepare();
      await run();
    }
    let instructions = 0;
    const once = slowdown.wrapWorkAsync(async () => {
      await prepare();
      youngCollection();
      instructions += await windows.count(run);
    });
    subsample = async () => {
      instructions = 0;
      for (let c = 0; c < benchmark.calls; c++) await once();
      return instructions / benchmark.calls;
    };
  } else {
    const call = slowdown.wrapWork(run);
    const batch = (): void => {
      for (let c = 0; c < benchmark.calls; c++) call();
    };
    for (let i = 0; i < Math.ceil(benchmark.warmupCalls / benchmark.calls); i++) batch();
    subsample = async () => {
      youngCollection();
      return (await windows.count(batch)) / benchmark.calls;
    };
  }
  const sample = async (): Promise<number> => {
    const subsamples: number[] = [];
    for (let i = 0; i < SUBSAMPLES; i++) subsamples.push(await subsample());
    return middle(subsamples);
  };
  await windows.instrument(true);
  const discarded: number[] = [];
  for (;;) {
    discarded.push(await subsample());
    const last = discarded.slice(-3);
    const centre = middle(last);
    if (last.length === 3 && last.every((x) => Math.abs(x - centre) <= SETTLED_SPREAD * centre)) break;
    if (discarded.length >= MAX_SETTLING) break;
  }
  const samples: number[] = [];
  for (let s = 0; s < job.samples; s++) {
    emit({ type: 'progress', fraction: span[0] + ((span[1] - span[0]) * s) / job.samples, label: `${benchmark.id}: sample ${s + 1}/${job.samples}` });
    samples.push(await sample());
  }
  await windows.instrument(false);
  if (operation.check) emit({ type: 'check', ...operation.check() });
  emit({
    type: 'samples',
    id: benchmark.id,
    samples,
    params: { ...operation.params, calls_per_subsample: benchmark.calls, subsamples_per_sample: SUBSAMPLES, counter: 'callgrind Ir (user-space instructions; system calls not counted)' },
    discarded,
  });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as InstructionJob;
  const windows = new CallgrindWindows(job.outDir);
  for (const [i, benchmark] of job.benchmarks.entries()) {
    await countBenchmark(windows, job, benchmark, [i / job.benchmarks.length, (i + 1) / job.benchmarks.length]);
  }
}

main().catch((err: unknown) => {
  emit({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
});

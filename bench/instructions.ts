/**
 * Instructions suite (CodSpeed-style, harness-anchors §1.1): instructions per operation counted
 * under valgrind's callgrind (bench/callgrind.ts) for what the nightly gate must catch —
 * Signal session setup, per-message encryption (+ decryption), ratchet encryption, retention
 * sweeps. Counts do not depend on machine load or host speed, so the gate can see a 10% change
 * on a machine where wall time swings by 60% (docs/compare.md, "Instruction counts").
 *
 * Samples are spread over at least two child processes (bench/instructions-child.ts), each
 * with its own V8 random seed and its own keys, run concurrently up to the number of cores
 * under `nice -n 19`: repeated processes give honest variation (heap layout, hash seeds, key
 * values), while within one process V8 runs in `--predictable` mode (no background compiler
 * or GC threads), so one process repeats its own count.
 *
 * Without valgrind the suite records nothing, logs how to install it, and does not fail the run.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../src/crypto/backend.js';
import { callgrindArgs, valgrindVersion } from './callgrind.js';
import { runJsonLinesChild } from './json-lines-child.js';
import type { InstructionBenchmarkJob, InstructionChildMessage, InstructionJob, SignalOperation } from './instructions-child.js';
import type { Suite, SuiteContext, SuiteContextStatic } from '../src/harness/suite/suite.js';

const SUITE = 'instructions';
const CHILD = fileURLToPath(new URL('./instructions-child.js', import.meta.url));

const exp = (n: number): string => `1e${Math.round(Math.log10(n))}`;
const SIGNAL_IDS: Record<SignalOperation, (b: BackendName) => string> = {
  'session-setup': (b) => `instr/signal/session-setup/160B/${b}`,
  message: (b) => `instr/signal/message/encrypt+decrypt/160B/${b}`,
  'ratchet-encrypt': (b) => `instr/signal/ratchet/encrypt/160B/${b}`,
  'spqr-epoch': (b) => `instr/signal/spqr/epoch/${b}`,
};
const sweepId = (total: number, expired: number): string => `instr/retention/sweep/memory/total=${exp(total)}/expired=${expired}`;

/**
 * Uncounted calls before the windows, enough for V8 to have optimised each operation: the
 * count per call was flat from there on (docs/bench.md, "instructions"); the child then counts
 * and throws away sub-samples until three in a row agree.
 */
const WARMUP_CALLS = {
  // with 600, one smoke sample of three landed ~20% above the other two; the message keeps 1000
  message: 1000,
  'ratchet-encrypt': 600,
  'session-setup': { node: 100, noble: 20 },
  // an epoch is ~87 messages each way, so 6 epochs warm the same code as ~1000 messages
  'spqr-epoch': { node: 6, noble: 4 },
  sweep: 50,
} as const;

/**
 * Rough seconds under valgrind on a 2-core VM: starting node and loading the
 * modules uninstrumented; per benchmark, switching instrumentation on and off plus set-up;
 * per uncounted warm-up call; per counted call; per window (two dumps).
 */
const SECONDS = {
  start: 8,
  benchmark: 3,
  // SPQR: every message carries a chunk and two chain-key HKDFs, every epoch an ML-KEM-768 round
  warmupCall: { message: 0.008, 'ratchet-encrypt': 0.005, 'session-setup': { node: 0.06, noble: 0.7 }, 'spqr-epoch': { node: 0.08, noble: 0.4 }, sweep: 0.06 },
  countedCall: { message: 0.08, 'ratchet-encrypt': 0.04, 'session-setup': { node: 0.25, noble: 1.4 }, 'spqr-epoch': { node: 0.8, noble: 3 }, sweep: 0.1 },
  window: 0.2,
} as const;

/** The benchmarks of this profile and these backends (slowdown 0: the run sets it). */
function plannedBenchmarks(ctx: SuiteContextStatic): InstructionBenchmarkJob[] {
  const s = ctx.settings.instructions;
  const planned: InstructionBenchmarkJob[] = [];
  for (const backend of ctx.backends) {
    if (s.setupCalls[backend] > 0) {
      planned.push({ kind: 'session-setup', backend, id: SIGNAL_IDS['session-setup'](backend), calls: s.setupCalls[backend], warmupCalls: WARMUP_CALLS['session-setup'][backend], slowdown: 0 });
    }
    if (s.spqrEpochCalls[backend] > 0) {
      planned.push({ kind: 'spqr-epoch', backend, id: SIGNAL_IDS['spqr-epoch'](backend), calls: s.spqrEpochCalls[backend], warmupCalls: WARMUP_CALLS['spqr-epoch'][backend], slowdown: 0 });
    }
    for (const kind of ['message', 'ratchet-encrypt'] as const) {
      planned.push({ kind, backend, id: SIGNAL_IDS[kind](backend), calls: s.messageCalls, warmupCalls: WARMUP_CALLS[kind], slowdown: 0 });
    }
  }
  planned.push({ kind: 'sweep', id: sweepId(s.sweep.total, s.sweep.expired), total: s.sweep.total, expired: s.sweep.expired, calls: s.sweep.calls, warmupCalls: WARMUP_CALLS.sweep, slowdown: 0 });
  return planned;
}

function allIds(ctx: SuiteContextStatic): string[] {
  return plannedBenchmarks(ctx).map((b) => b.id);
}

/** Child processes: at least two (each with its own seed), at most one per core and one per repetition. */
function processCount(ctx: Pick<SuiteContextStatic, 'cores' | 'repetitions'>): number {
  return Math.max(2, Math.min(ctx.cores, ctx.repetitions));
}

/** Repetitions split over the processes as evenly as possible (the first ones take the remainder). */
function samplesPerProcess(ctx: Pick<SuiteContextStatic, 'cores' | 'repetitions'>): number[] {
  const n = processCount(ctx);
  return Array.from({ length: n }, (_, i) => Math.floor(ctx.repetitions / n) + (i < ctx.repetitions % n ? 1 : 0)).filter((w) => w > 0);
}

type PerBackend = Record<BackendName, number>;
function seconds(table: { message: number; 'ratchet-encrypt': number; 'session-setup': PerBackend; 'spqr-epoch': PerBackend; sweep: number }, b: InstructionBenchmarkJob): number {
  return b.kind === 'session-setup' || b.kind === 'spqr-epoch' ? table[b.kind][b.backend] : table[b.kind];
}

function estimateSeconds(ctx: SuiteContextStatic): number {
  const wanted = plannedBenchmarks(ctx).filter((b) => ctx.wants(b.id));
  if (wanted.length === 0) return 0;
  const perProcess = samplesPerProcess(ctx);
  const waves = Math.ceil(perProcess.length / Math.max(1, ctx.cores));
  // sub-samples: at least 3 settling, then 3 per sample
  const processSeconds = (w: number): number =>
    SECONDS.start +
    wanted.reduce((s, b) => {
      const subsamples = 3 + 3 * w;
      const windowsPerSubsample = b.kind === 'sweep' ? b.calls : 1;
      return s + SECONDS.benchmark + b.warmupCalls * seconds(SECONDS.warmupCall, b) + subsamples * (b.calls * seconds(SECONDS.countedCall, b) + windowsPerSubsample * SECONDS.window);
    }, 0);
  return waves * processSeconds(Math.max(...perProcess));
}

/** What one child measured. */
export interface ChildRun {
  samples: Map<string, number[]>;
  params: Map<string, Record<string, string | number | boolean>>;
  checks: { id: string; passed: boolean; detail: string }[];
}

/** The node and valgrind command line of one child (also used by the tests). */
function childCommand(job: InstructionJob, seed: number): { command: string; args: string[] } {
  const node = [process.execPath, '--predictable', `--random-seed=${seed}`, '--expose-gc', CHILD, JSON.stringify(job)];
  return { command: 'nice', args: ['-n', '19', 'valgrind', ...callgrindArgs(job.outDir), ...node] };
}

/** Runs one child in its own dump directory; rejects with the child's error or stderr when it fails. */
export async function runInstructionChild(
  job: Omit<InstructionJob, 'outDir'>,
  seed: number,
  onProgress: (fraction: number, label: string) => void = () => {},
  signal?: AbortSignal,
  log: (line: string) => void = () => {},
): Promise<ChildRun> {
  const outDir = mkdtempSync(join(tmpdir(), 'sigload-callgrind-'));
  const out: ChildRun = { samples: new Map(), params: new Map(), checks: [] };
  let error: string | undefined;
  try {
    const { command, args } = childCommand({ ...job, outDir }, seed);
    const exit = await runJsonLinesChild<InstructionChildMessage>(command, args, {
      signal,
      onText: (line) => log(`instructions child: ${line}`),
      onMessage: (m) => {
        if (m.type === 'progress') onProgress(m.fraction, m.label);
        else if (m.type === 'error') error = m.message;
        else if (m.type === 'check') out.checks.push({ id: m.id, passed: m.passed, detail: m.detail });
        else {
          out.samples.set(m.id, m.samples);
          out.params.set(m.id, m.params);
        }
      },
    });
    if ((exit.code === 0 && !error) || signal?.aborted) return out;
    throw new Error(`instructions child (seed ${seed}) failed: ${error ?? `exit ${exit.code ?? exit.signal}`}${exit.stderr ? `\n${exit.stderr}` : ''}`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export const instructionsSuite: Suite = {
  id: SUITE,
  describe: 'instructions per operation under valgrind callgrind: Signal session setup, message, ratchet; retention sweep (load-independent)',
  benchmarkIds: allIds,
  estimateSeconds,
  async run(ctx: SuiteContext) {
    const benchmarks: InstructionBenchmarkJob[] = plannedBenchmarks(ctx)
      .filter((b) => ctx.wants(b.id))
      .map((b) => ({ ...b, slowdown: ctx.slowdown(b.id).fraction }));
    if (benchmarks.length === 0) return;
    const valgrind = valgrindVersion();
    if (valgrind === undefined) {
      ctx.log('instructions: valgrind not found, no instruction counts recorded (install it: apt-get install valgrind)');
      return;
    }
    const perProcess = samplesPerProcess(ctx);
    const seeds = perProcess.map(() => randomInt(1, 2 ** 31 - 1));
    ctx.log(`instructions: ${valgrind} callgrind, ${perProcess.length} processes (samples ${perProcess.join('+')}), V8 seeds ${seeds.join(', ')}`);
    const fractions = perProcess.map(() => 0);
    const runs: (ChildRun | undefined)[] = perProcess.map(() => undefined);
    const failures: string[] = [];
    // Counts do not depend on load: as many children at once as there are cores.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < perProcess.length && !ctx.signal.aborted; i = next++) {
        try {
          const onProgress = (fraction: number, label: string): void => {
            fractions[i] = fraction;
            ctx.progress(fractions.reduce((s, f) => s + f, 0) / fractions.length, label);
          };
          runs[i] = await runInstructionChild({ samples: perProcess[i]!, benchmarks }, seeds[i]!, onProgress, ctx.signal, (line) => ctx.log(line));
        } catch (err) {
          failures.push((err as Error).message);
          ctx.log((err as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ctx.cores, perProcess.length) }, worker));

    const done = runs.filter((r): r is ChildRun => r !== undefined);
    for (const b of benchmarks) {
      const samples = done.flatMap((r) => r.samples.get(b.id) ?? []);
      const params = done.map((r) => r.params.get(b.id)).find((p) => p !== undefined);
      if (samples.length === 0 || params === undefined) continue;
      ctx.record({
        id: b.id,
        suite: SUITE,
        unit: 'instructions/op',
        better: 'lower',
        params: { ...params, tool: `${valgrind} callgrind`, v8: '--predictable', processes: done.length },
        samples,
      });
    }
    const checks = new Map<string, { id: string; passed: boolean; detail: string }>();
    for (const c of done.flatMap((r) => r.checks)) {
      const seen = checks.get(c.id);
      if (!seen || (seen.passed && !c.passed)) checks.set(c.id, c);
    }
    for (const c of checks.values()) ctx.check(c);
    if (failures.length > 0) throw new Error(failures.join('\n'));
  },
};

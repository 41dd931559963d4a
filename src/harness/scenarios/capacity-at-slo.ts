/**
 * Capacity at an SLO inside a load scenario, and the anchors measured at 70 % of it.
 *
 * 1. Capacity: one search (load/capacity-search.ts) per repetition, each its own sample. The
 *    first ramps from `startRate`; later ones start around the first's estimate and ramp by
 *    ×1.25, which needs about half the steps and applies the same verdict rule to their own
 *    measurements, so each sample is still an independent measurement of the capacity (a
 *    single search with confirm windows would give one capacity and n p99s, not n capacities).
 *    Every step of every search is kept: the latency-versus-offered-rate curve.
 * 2. At 70 % of the median capacity, per repetition, one window against the server and one
 *    against a bare node:http handler at the same offered rate (ABBA order, both warmed): p99 of
 *    the measured part, and the process's CPU (/proc/<pid>/stat user + system, load/process-cpu.ts)
 *    over the whole window ÷ the requests it answered.
 *
 * Figures (scope = the scenario's, e.g. load/mass-messaging): `<scope>/capacity-at-<slo>`,
 * `<scope>/p99-at-70pct-capacity`, `<scope>/server-cpu-per-<unit>`, and the bare handler's
 * `<scope>/bare-http-p99-at-70pct-capacity`, `<scope>/bare-http-cpu-per-request`. Anchors:
 * `server-p99-at-70pct-capacity-vs-bare-http` (sends; goal ≤ 4) and
 * `server-cpu-per-<send|inbound>-vs-bare` (sends: goal ≤ 3).
 *
 * CPU resolution: /proc counts 10 ms ticks, so each window's CPU is known to ±10 ms; the
 * per-request figure divides the sum over all windows of a side by all their requests.
 */
import { processCpuAvailable, processCpuMs } from '../load/process-cpu.js';
import { findCapacity, openLoopStepRunner, sloLabel, type CapacityOutcome, type LatencySlo, type StepMeasurement, type StepRunner, type CapacityOptions } from '../load/capacity-search.js';
import { loadAnchor } from '../load/anchor.js';
import { median as medianOf } from '../statistics/stats.js';
import { mergeQuality, type Quality } from '../load/generator-guard.js';
import { BareHandler } from './baseline.js';
import type { LoadSizes } from '../load/sizes.js';
import type { Anchor } from '../result/result.js';
import type { LoadFigure } from './stage.js';

/** What `--find-capacity --slo p99=50ms [--max-error-rate 0.01]` asks for. */
/** Share of the measured capacity at which the anchors' windows run. */
export { DEFAULT_CAPACITY_OPTIONS, type CapacityOptions } from '../load/capacity-search.js';

export const ANCHOR_LOAD_SHARE = 0.7;

export interface CapacityPhase {
  /** Benchmark id prefix, e.g. `load/mass-messaging`. */
  scope: string;
  /** `send` or `inbound`: names the CPU figure and anchor. */
  per: 'send' | 'inbound';
  unit: string;
  sizes: LoadSizes;
  options: CapacityOptions;
  /** One step against the server; `prepare` (optional) runs before each step, outside its timing. */
  step: StepRunner;
  /** The server child's pid, for CPU per request (absent for --target). */
  serverPid?: number;
  params: Record<string, string | number | boolean>;
  log: (line: string) => void;
}

interface CpuWindow {
  m: StepMeasurement;
  cpuMs?: number;
}

async function windowWithCpu(step: StepRunner, pid: number | undefined, rate: number, warmUp: number, measure: number): Promise<CpuWindow> {
  const readable = pid !== undefined && processCpuAvailable(pid);
  const before = readable ? processCpuMs(pid!) : 0;
  const m = await step(rate, warmUp, measure);
  return readable ? { m, cpuMs: processCpuMs(pid!) - before } : { m };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Idle = the process used under this share of one core over a probe interval. */
const IDLE_CORE_SHARE = 0.1;
const IDLE_PROBE_MS = 250;
/** Longest wait for the server to go idle after a failing step, ms. */
const IDLE_WAIT_MAX_MS = 20_000;

/**
 * Waits until process `pid` is idle (under 10 % of a core over 250 ms, by /proc), at most 20 s:
 * after an overloaded step the server still works through requests whose clients gave up.
 */
export async function waitForIdleProcess(pid: number): Promise<void> {
  if (!processCpuAvailable(pid)) return;
  const deadline = Date.now() + IDLE_WAIT_MAX_MS;
  let before = processCpuMs(pid);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, IDLE_PROBE_MS));
    const now = processCpuMs(pid);
    if (now - before < IDLE_CORE_SHARE * IDLE_PROBE_MS) return;
    before = now;
  }
}

/** CPU µs per request over several windows (sum ÷ sum), and per window. */
function cpuPerRequest(windows: readonly CpuWindow[]): { perWindow: number[]; pooled: number } | undefined {
  if (windows.length === 0 || windows.some((w) => w.cpuMs === undefined)) return undefined;
  const perWindow = windows.map((w) => round2((w.cpuMs! * 1000) / Math.max(1, w.m.windowAnswered)));
  const pooled = round2((windows.reduce((a, w) => a + w.cpuMs!, 0) * 1000) / Math.max(1, windows.reduce((a, w) => a + w.m.windowAnswered, 0)));
  return { perWindow, pooled };
}

function windowQuality(w: CpuWindow, slo: LatencySlo): Quality {
  const notes = [...w.m.notes];
  if (w.m.generatorSaturated) notes.push('generator saturated');
  if (w.m.errors > 0) notes.push(`${w.m.errors} failed requests`);
  return { clean: notes.length === 0, notes: notes.map((n) => `${n} (window at 70 % of capacity, SLO ${slo.stat} ≤ ${slo.maxMs} ms)`) };
}

export async function measureCapacityAtSlo(phase: CapacityPhase): Promise<{ figures: LoadFigure[]; anchors: Anchor[] }> {
  const { scope, sizes, options, log } = phase;
  const c = sizes.capacity;
  const repetitions = Math.max(1, Math.min(c.repetitions, sizes.repetitions));
  const label = sloLabel(options.slo);
  const outcomes: CapacityOutcome[] = [];
  for (let r = 0; r < repetitions; r++) {
    const hint = outcomes[0] && outcomes[0].valid && outcomes[0].capacity > 0 ? outcomes[0].capacity : undefined;
    const outcome = await findCapacity(phase.step, {
      slo: options.slo,
      maxErrorRate: options.maxErrorRate,
      tolerance: c.tolerance,
      warmUpSeconds: c.warmUpSeconds,
      measureSeconds: c.measureSeconds,
      maxSteps: hint === undefined ? c.firstSteps : c.laterSteps,
      repetition: r,
      ...(hint !== undefined ? { hint } : {}),
      ...(phase.serverPid !== undefined ? { settle: () => waitForIdleProcess(phase.serverPid!) } : {}),
      log: (line) => log(`${scope}: repetition ${r + 1}: ${line}`),
    });
    outcomes.push(outcome);
    log(`${scope}: repetition ${r + 1}: capacity at ${options.slo.stat} ≤ ${options.slo.maxMs} ms: ${outcome.capacity} req/s${outcome.valid ? '' : ' (INVALID: ' + outcome.quality.notes.join('; ') + ')'}`);
    if (!outcome.valid) break;
  }
  const capacities = outcomes.map((o) => o.capacity);
  const capacityQuality = mergeQuality(...outcomes.map((o) => o.quality));
  const capacity = medianOf(capacities);
  const figures: LoadFigure[] = [
    {
      id: `${scope}/capacity-at-${label}`,
      unit: phase.unit,
      better: 'higher',
      params: { ...phase.params, slo: `${options.slo.stat}<=${options.slo.maxMs}ms`, max_error_rate: options.maxErrorRate, tolerance: c.tolerance, warm_up_s: c.warmUpSeconds, measure_s: c.measureSeconds },
      samples: capacities,
      capacity: {
        slo: { stat: options.slo.stat, max_ms: options.slo.maxMs },
        max_error_rate: options.maxErrorRate,
        tolerance: c.tolerance,
        warm_up_s: c.warmUpSeconds,
        measure_s: c.measureSeconds,
        steps: outcomes.flatMap((o) => o.steps),
      },
      quality: capacityQuality,
    },
  ];
  const anchors: Anchor[] = [];
  const rate = Math.round(capacity * ANCHOR_LOAD_SHARE);
  if (!(rate >= 1) || outcomes.some((o) => !o.valid)) {
    log(`${scope}: no anchors at 70 % of capacity (capacity ${capacity} req/s${outcomes.some((o) => !o.valid) ? ', search invalid' : ''})`);
    return { figures, anchors };
  }

  // 2. Windows at 70 % of capacity, ours and the bare handler's side by side (ABBA).
  const bare = await BareHandler.start(sizes.connections);
  const ours: CpuWindow[] = [];
  const theirs: CpuWindow[] = [];
  try {
    const bareStep = openLoopStepRunner(bare.request(), options.slo);
    for (let r = 0; r < repetitions; r++) {
      const bareFirst = r % 4 === 1 || r % 4 === 2;
      if (bareFirst) theirs.push(await windowWithCpu(bareStep, bare.pid, rate, c.warmUpSeconds, c.measureSeconds));
      ours.push(await windowWithCpu(phase.step, phase.serverPid, rate, c.warmUpSeconds, c.measureSeconds));
      if (!bareFirst) theirs.push(await windowWithCpu(bareStep, bare.pid, rate, c.warmUpSeconds, c.measureSeconds));
    }
  } finally {
    await bare.stop();
  }
  const params = { ...phase.params, rate_per_s: rate, capacity_per_s: capacity, warm_up_s: c.warmUpSeconds, measure_s: c.measureSeconds };
  const oursQuality = mergeQuality(capacityQuality, ...ours.map((w) => windowQuality(w, options.slo)));
  const theirsQuality = mergeQuality(...theirs.map((w) => windowQuality(w, options.slo)));
  const p99s = (ws: CpuWindow[]): number[] => ws.map((w) => w.m.p99);
  figures.push(
    { id: `${scope}/p99-at-70pct-capacity`, unit: 'ms', better: 'lower', params, samples: p99s(ours), quality: oursQuality },
    { id: `${scope}/bare-http-p99-at-70pct-capacity`, unit: 'ms', better: 'lower', params, samples: p99s(theirs), quality: theirsQuality },
  );
  if (phase.per === 'send') {
    anchors.push(loadAnchor({ id: 'server-p99-at-70pct-capacity-vs-bare-http', ours: medianOf(p99s(ours)), theirs: Math.max(0.001, medianOf(p99s(theirs))), unit: 'ms', goal: { op: '<=', value: 4 }, inputs: [oursQuality, theirsQuality] }));
  }
  const oursCpu = cpuPerRequest(ours);
  const theirsCpu = cpuPerRequest(theirs);
  if (oursCpu && theirsCpu) {
    figures.push(
      { id: `${scope}/server-cpu-per-${phase.per}`, unit: 'µs', better: 'lower', params, samples: oursCpu.perWindow, quality: oursQuality },
      { id: `${scope}/bare-http-cpu-per-request`, unit: 'µs', better: 'lower', params, samples: theirsCpu.perWindow, quality: theirsQuality },
    );
    // Pooled over all windows (sum of CPU ÷ sum of requests): the 10 ms tick weighs least.
    anchors.push(
      loadAnchor({
        id: `server-cpu-per-${phase.per}-vs-bare`,
        ours: oursCpu.pooled,
        theirs: theirsCpu.pooled,
        unit: 'µs/request',
        ...(phase.per === 'send' ? { goal: { op: '<=' as const, value: 3 } } : {}),
        inputs: [oursQuality, theirsQuality],
      }),
    );
    log(`${scope}: at ${rate} req/s (70 % of ${capacity}): p99 ${medianOf(p99s(ours))} ms vs bare ${medianOf(p99s(theirs))} ms; server CPU ${oursCpu.pooled} µs/${phase.per} vs bare ${theirsCpu.pooled} µs/request`);
  } else {
    log(`${scope}: at ${rate} req/s (70 % of ${capacity}): p99 ${medianOf(p99s(ours))} ms vs bare ${medianOf(p99s(theirs))} ms; no CPU figures (the server is not a child of this process, or no /proc)`);
  }
  return { figures, anchors };
}

/** A step runner that calls `prepare(requests)` before each step, outside the step's timing. */
export function preparedStepRunner(prepare: (requests: number) => Promise<void>, step: StepRunner): StepRunner {
  return async (rate, warmUp, measure) => {
    await prepare(Math.ceil(rate * (warmUp + measure)));
    return step(rate, warmUp, measure);
  };
}

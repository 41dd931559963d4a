/**
 * Generator guard: watches the load generator itself while it runs, so that a figure taken
 * while the generator (not the server) was the bottleneck is never compared as clean.
 *
 * Two measures over the run:
 * - `process.cpuUsage()` delta ÷ wall time: CPU of the whole generator process (main thread
 *   plus any piscina worker threads), in cores.
 * - `performance.eventLoopUtilization()` of the main thread: the fraction of wall time the
 *   event loop that schedules and times requests was busy. A busy loop delays dispatch and
 *   completion callbacks, which inflates latencies and caps the offered rate. ELU counts from
 *   the loop's first turn: a guard started before it (top-level code) sees the time since then.
 *
 * Saturated when the main thread used ≥ 90 % of one core (ELU ≥ 0.9), or the process used
 * ≥ 90 % of the cores it can use (one core per thread, at most the machine's cores).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

export interface GeneratorGuardOptions {
  /** Saturation threshold as a fraction of one core. @default 0.9 */
  saturationFraction?: number;
  /** Worker threads the generator runs besides its main thread (for the process-CPU bound). @default 0 */
  workerThreads?: number;
}

/** Defaults of `GeneratorGuardOptions` (documented per field there). */
export const DEFAULT_GENERATOR_GUARD_OPTIONS = {
  saturationFraction: 0.9,
  workerThreads: 0,
} as const satisfies Required<GeneratorGuardOptions>;

export interface GeneratorUsage {
  wall_ms: number;
  /** user + system CPU of the generator process, ms. */
  cpu_ms: number;
  /** cpu_ms ÷ wall_ms: cores used on average. */
  cpu_cores: number;
  /** main-thread event-loop utilisation, 0..1. */
  main_thread_elu: number;
  saturated: boolean;
}

export interface GeneratorGuard {
  /** Ends the observation and returns what was used since `startGeneratorGuard`. */
  stop(): GeneratorUsage;
}

export function startGeneratorGuard(options: GeneratorGuardOptions = {}): GeneratorGuard {
  const settings = { ...DEFAULT_GENERATOR_GUARD_OPTIONS, ...options };
  const threshold = settings.saturationFraction;
  const threads = 1 + settings.workerThreads;
  const startWall = performance.now();
  const startCpu = process.cpuUsage();
  const startElu = performance.eventLoopUtilization();
  return {
    stop(): GeneratorUsage {
      const wallMs = Math.max(1e-3, performance.now() - startWall);
      const cpu = process.cpuUsage(startCpu);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const elu = performance.eventLoopUtilization(startElu).utilization;
      const cores = cpuMs / wallMs;
      const usableCores = Math.min(threads, Math.max(1, cpus().length));
      const saturated = elu >= threshold || cores >= threshold * usableCores;
      return {
        wall_ms: Math.round(wallMs),
        cpu_ms: Math.round(cpuMs),
        cpu_cores: Math.round(cores * 1000) / 1000,
        main_thread_elu: Math.round(elu * 1000) / 1000,
        saturated,
      };
    },
  };
}

/** What a load phase saw, as far as quality is concerned. */
export interface PhaseOutcome {
  generator: GeneratorUsage;
  /** Transport errors (connection refused/reset, aborted). */
  errors: number;
  timeouts: number;
  /** Answers outside 2xx. */
  non2xx: number;
  /** Answers outside 2xx the scenario expected (e.g. refusals it provokes on purpose). Default 0. */
  expectedNon2xx?: number;
  /** Requests the driver could not send on schedule within the run (open model only). */
  dropped?: number;
}

export interface Quality {
  clean: boolean;
  notes: string[];
}

/** Decides whether a phase's figures may be compared as clean; says why not otherwise. */
export function judgeQuality(outcome: PhaseOutcome): Quality {
  const notes: string[] = [];
  const g = outcome.generator;
  if (g.saturated) {
    notes.push(`generator saturated: main-thread ELU ${g.main_thread_elu}, process CPU ${g.cpu_cores} cores`);
  }
  if (outcome.errors > 0) notes.push(`${outcome.errors} transport errors`);
  if (outcome.timeouts > 0) notes.push(`${outcome.timeouts} timeouts`);
  const unexpected = outcome.non2xx - (outcome.expectedNon2xx ?? 0);
  if (unexpected > 0) notes.push(`${unexpected} unexpected non-2xx answers`);
  if ((outcome.dropped ?? 0) > 0) notes.push(`${outcome.dropped} requests not sent within the run`);
  return { clean: notes.length === 0, notes };
}

/** Merges qualities of several phases that feed one figure. */
export function mergeQuality(...qualities: Quality[]): Quality {
  const notes = [...new Set(qualities.flatMap((q) => q.notes))];
  return { clean: qualities.every((q) => q.clean), notes };
}

/**
 * Synthetic result files for exercising the gate without running benchmarks: a seeded
 * random generator, noisy repetitions, and a minimal valid ResultFile around them.
 * Used by the unit tests and by `gate-calibration --synthetic`.
 */
import { summarize } from './stats.js';
import type { BenchmarkResult, Better, ResultFile } from '../result/result.js';

/** mulberry32: small, fast, seedable PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draw by Box-Muller. */
export function normalDraw(random: () => number): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface NoisySamplesOptions {
  n: number;
  median: number;
  /** Relative noise (log-normal sigma), e.g. 0.02 for about 2% CV. */
  cv: number;
  random: () => number;
  /** Run-level offset shared by every sample of this run (drift between runs), as a fraction. */
  runOffset?: number;
}

export function noisySamples(o: NoisySamplesOptions): number[] {
  const shift = 1 + (o.runOffset ?? 0);
  return Array.from({ length: o.n }, () => o.median * shift * Math.exp(o.cv * normalDraw(o.random)));
}

export interface SyntheticBenchmark {
  id: string;
  samples: number[];
  unit?: string;
  better?: Better;
  clean?: boolean;
  params?: BenchmarkResult['params'];
  latency?: BenchmarkResult['latency'];
}

export interface SyntheticRunOptions {
  benchmarks: SyntheticBenchmark[];
  commit?: string;
  branch?: string;
  startedAt?: string;
  runId?: string;
  cpuModel?: string;
  cores?: number;
  nodeVersion?: string;
  injected?: { pattern: string; fraction: number };
  anchors?: ResultFile['anchors'];
}

export function syntheticResult(o: SyntheticRunOptions): ResultFile {
  const startedAt = o.startedAt ?? '2026-01-01T00:00:00.000Z';
  const benchmarks: BenchmarkResult[] = o.benchmarks.map((b) => ({
    id: b.id,
    suite: b.id.split('/')[0] ?? 'synthetic',
    unit: b.unit ?? 'ops/s',
    better: b.better ?? 'higher',
    params: b.params ?? {},
    samples: b.samples,
    summary: summarize(b.samples),
    ...(b.latency ? { latency: b.latency } : {}),
    quality: { clean: b.clean ?? true, notes: b.clean === false ? ['synthetic: marked unclean'] : [] },
  }));
  const run: ResultFile['run'] & { injected_slowdown?: { pattern: string; fraction: number } } = {
    id: o.runId ?? `synthetic-${startedAt}`,
    started_at: startedAt,
    finished_at: startedAt,
    profile: 'ci',
    filters: [],
    argv: [],
    ...(o.injected ? { injected_slowdown: o.injected } : {}),
  };
  return {
    schema_version: 1,
    run,
    environment: {
      git: { commit: o.commit ?? '0000000000000000000000000000000000000000', branch: o.branch ?? 'main', dirty: false },
      node_version: o.nodeVersion ?? 'v20.20.2',
      v8_version: '11.3',
      os: { platform: 'linux', release: '6.1', arch: 'x64' },
      cpu: { model: o.cpuModel ?? 'Synthetic CPU', cores: o.cores ?? 2, speed_mhz: 0 },
      memory_bytes: 4 * 1024 ** 3,
      load_average: [0, 0, 0],
      crypto: { noble: { x25519: '@noble/curves' } },
      anchor_versions: {},
    },
    benchmarks,
    anchors: o.anchors ?? [],
    checks: [],
  };
}

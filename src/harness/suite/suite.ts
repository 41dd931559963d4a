/**
 * The suite contract: what `npm run bench` iterates (registry in bench/suites.ts).
 *
 * A suite measures, then hands plain figures to its context: `record` for a benchmark
 * (samples = one value per independent repetition, in `unit`), `anchor` for a ratio measured
 * in the same run, `check` for a pass/fail invariant (a failed check fails the run). The
 * runner fills summaries, quality defaults, environment and the file; suites never write files.
 *
 * Benchmark ids are stable across commits and start with the suite's area, e.g.
 * `crypto/sha256/1KiB/node`, `signal/message/encrypt+decrypt/160B/node`, `pool/session-setup/workers=2`.
 */
import type { BackendName } from '../../crypto/backend.js';
import type { Anchor, BenchmarkResult, Check, Environment, Profile, Summary } from '../result/result.js';
import type { ProfileSettings } from './profiles.js';
import type { LoadTargetOptions } from './options.js';
import type { Slowdown } from './slowdown.js';

/** What a suite hands to `record`: the runner computes `summary` (from samples) and defaults `quality` to clean. */
export type BenchmarkRecord = Omit<BenchmarkResult, 'summary' | 'quality'> & {
  summary?: Summary;
  quality?: BenchmarkResult['quality'];
};

/** Environment fields a suite may add to (merged shallowly per key). */
export type EnvironmentNote = Partial<Pick<Environment, 'anchor_versions' | 'target' | 'crypto'>>;

export interface SuiteContext {
  readonly profile: Profile;
  /** Sizes, repetitions and sample times for this profile (src/harness/suite/profiles.ts). */
  readonly settings: ProfileSettings;
  /** Independent repetitions per benchmark: settings.repetitions (3 in smoke, ≥ 5 otherwise). */
  readonly repetitions: number;
  /** Crypto backends selected with --backend. */
  readonly backends: readonly BackendName[];
  /** Worker counts selected with --workers (default 1..cores). */
  readonly workers: readonly number[];
  /** os.availableParallelism() of this machine. */
  readonly cores: number;
  /**
   * The load suites' target server and device Signal from --target, --admin-token,
   * --registration-token, --device-signal (unset: SIGLOAD_* env vars, then a child server and 'ours').
   */
  readonly load?: LoadTargetOptions;
  /** True when the benchmark id passes --filter (no filter: always true). Check before measuring. */
  wants(benchmarkId: string): boolean;
  record(benchmark: BenchmarkRecord): void;
  anchor(anchor: Anchor): void;
  check(check: Check): void;
  note(patch: EnvironmentNote): void;
  /** This suite's progress, 0..1, with a short label of what runs now. */
  progress(fraction: number, label: string): void;
  /** A plain line for the log (printed above the progress display). */
  log(line: string): void;
  /** The test-only injected slowdown for this benchmark id (identity unless SIGLOAD_INJECT_SLOWDOWN matches). */
  slowdown(benchmarkId: string): Slowdown;
  /** Aborted on Ctrl-C; long loops should stop early. */
  readonly signal: AbortSignal;
}

export interface Suite {
  /** 'micro', 'pool', 'retention', 'load/mass-messaging', 'pg/sweep', … */
  readonly id: string;
  readonly describe: string;
  /**
   * Id prefixes this suite may produce (used by --list and to skip a suite whose ids cannot
   * match --filter). Omit to always run the suite and let it call `wants`.
   */
  benchmarkIds?(ctx: SuiteContextStatic): string[];
  /** Expected wall time in seconds for this context (drives the ETA). */
  estimateSeconds(ctx: SuiteContextStatic): number;
  run(ctx: SuiteContext): Promise<void>;
}

/** The part of the context known before anything runs. */
export type SuiteContextStatic = Pick<SuiteContext, 'profile' | 'settings' | 'repetitions' | 'backends' | 'workers' | 'cores' | 'wants' | 'load'>;

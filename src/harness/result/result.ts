/**
 * The result file every `npm run bench` writes and `compare`/`report`/`export` read.
 * `results/result.schema.json` is the authoritative JSON Schema for this shape; the
 * writer and every reader validate against it (src/harness/result/schema.ts).
 *
 * Units live in `unit` (e.g. "ops/s", "ms", "bytes", "msgs/s"); `better` says which
 * direction is an improvement, so compare never guesses.
 */
import type { BackendName } from '../../crypto/backend.js';

export const RESULT_SCHEMA_VERSION = 1 as const;

export type Profile = 'smoke' | 'quick' | 'ci' | 'full';
export type Better = 'higher' | 'lower';

export interface ResultFile {
  schema_version: typeof RESULT_SCHEMA_VERSION;
  run: RunInfo;
  environment: Environment;
  benchmarks: BenchmarkResult[];
  anchors: Anchor[];
  /** Compliance invariants and other pass/fail checks made during the run (a failed one fails the run). */
  checks: Check[];
}

export interface RunInfo {
  id: string;
  started_at: string; // ISO 8601
  finished_at: string; // ISO 8601
  profile: Profile;
  filters: string[];
  argv: string[];
  /** TEST ONLY: SIGLOAD_INJECT_SLOWDOWN was set; matching benchmarks were slowed on purpose. */
  injected_slowdown?: { pattern: string; fraction: number };
  /** Suites that threw; their benchmarks may be missing. */
  failed_suites?: { suite: string; error: string }[];
}

export interface Environment {
  git: { commit: string; branch: string; dirty: boolean };
  node_version: string;
  v8_version: string;
  os: { platform: string; release: string; arch: string };
  cpu: { model: string; cores: number; speed_mhz: number };
  memory_bytes: number;
  load_average: [number, number, number];
  /** Per backend measured in this run: primitive name -> implementation that served it. */
  crypto: Partial<Record<BackendName, Record<string, string>>>;
  /** Versions of the anchors measured, e.g. {"@signalapp/libsignal-client": "0.90.0"}. */
  anchor_versions: Record<string, string>;
  /** Set when load scenarios ran against a server the harness did not start. */
  target?: { url: string; started_by_harness: boolean };
}

export interface Summary {
  n: number;
  median: number;
  mean: number;
  stddev: number;
  /** Coefficient of variation, stddev / mean (a fraction, not percent). */
  cv: number;
  /** 95% confidence interval of the median (distribution-free, order statistics). */
  ci95: [number, number];
}

export interface LatencyDistribution {
  unit: 'ms';
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** HDR histogram, hdr-histogram-js `encodeIntoCompressedBase64` of microsecond values. */
  hdr_base64: string;
}

export interface BenchmarkResult {
  /** Stable across commits, e.g. "signal/message/encrypt+decrypt/160B/node". */
  id: string;
  suite: string;
  unit: string;
  better: Better;
  params: Record<string, string | number | boolean>;
  /** One value per independent repetition, in `unit`. */
  samples: number[];
  summary: Summary;
  latency?: LatencyDistribution;
  /** Per-second time series of the figure's open-model run (its last repetition): src/harness/load/time-series.ts. */
  time_series?: LoadTimeSeries;
  /** For a capacity-at-SLO figure: the SLO and the whole latency-versus-offered-rate curve. */
  capacity?: CapacityCurve;
  /**
   * `clean` is false when the figure must not be compared as clean: the load generator
   * was saturated, or the run saw errors/timeouts/non-2xx answers it did not expect.
   */
  quality: { clean: boolean; notes: string[] };
}

/** How a capacity-at-SLO figure was found (src/harness/load/capacity-search.ts). */
export interface CapacityCurve {
  slo: { stat: 'p50' | 'p90' | 'p99'; max_ms: number };
  max_error_rate: number;
  /** Relative width at which each search's bisection stopped. */
  tolerance: number;
  warm_up_s: number;
  measure_s: number;
  /** Every step of every repetition's search, in the order taken. */
  steps: CapacityCurveStep[];
}

export interface CapacityCurveStep {
  repetition: number;
  offered_rate_per_s: number;
  achieved_rate_per_s: number;
  /** Percentiles of the step's measured part; null when no request of it succeeded. */
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  errors: number;
  requests: number;
  passed: boolean;
}

export interface Anchor {
  id: string;
  ratio: number;
  ours: number;
  theirs: number;
  unit: string;
  /** The goal the issue set, e.g. {"op": ">=", "value": 5}; `met` is ratio compared with it. */
  goal?: { op: '>=' | '<='; value: number };
  met?: boolean;
  /**
   * Whether the figures the ratio was built from were clean (see BenchmarkResult.quality);
   * absent in files written before it existed. A ratio of unclean figures is not clean.
   */
  quality?: { clean: boolean; notes: string[] };
}

export interface Check {
  id: string;
  passed: boolean;
  detail: string;
}

/** Per-interval time series of an open-model run (built by load/time-series.ts). */
export interface ServerInterval {
  cpu_user_ms: number | null;
  cpu_system_ms: number | null;
  /** CPU over the interval ÷ the interval's answers, µs; null without /proc or with no answer. */
  cpu_user_us_per_request: number | null;
  cpu_system_us_per_request: number | null;
  rss_bytes: number | null;
  heap_used_bytes: number | null;
  event_loop_delay_p99_ms: number | null;
  /** The kept `/metrics` series at the interval's end (server-telemetry.ts TELEMETRY_SERIES). */
  gauges: Record<string, number>;
}

export interface TimeSeriesInterval {
  /** Interval start, s after the run's t0. */
  start_s: number;
  /** Interval length, s (the last one may be shorter). */
  duration_s: number;
  sent: number;
  completed: number;
  errors: Record<string, number>;
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  /** '' when no request of the interval was answered. */
  hdr_base64: string;
  server?: ServerInterval;
}

export interface LoadTimeSeries {
  interval_ms: number;
  /** Where the server figures came from: /proc of a child the harness started, and/or a metrics URL. */
  server_source?: { proc: boolean; metrics_url?: string };
  intervals: TimeSeriesInterval[];
}

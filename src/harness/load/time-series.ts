/**
 * Per-interval (default 1 s) time series of an open-model run, as stored in the result JSON
 * (`BenchmarkResult.time_series`, results/result.schema.json):
 *
 * - `sent`: requests due in the interval (by scheduled time). Intervals' `sent` sum to the run's.
 * - `completed`: answers (any status) that arrived in the interval: the achieved throughput.
 * - `errors`: failed requests due in the interval, by Graph error code (the JSON error body's
 *   `error.code`), `http_<status>` for other non-2xx answers, `transport` and `timeout`.
 * - `hdr_base64`: the latencies (from scheduled time, µs) of the requests due in the interval, an
 *   HDR histogram in hdr-histogram-js's compressed base64. Every answered request is in exactly one
 *   interval, so the intervals' histograms merge to the run's histogram bucket for bucket.
 * - `server`: the server's CPU user/system time over the interval and per answer, RSS, heap used,
 *   event-loop delay p99 and the `/metrics` gauges at the interval's end (server-telemetry.ts).
 */
import { createLatencyHistogram, decodeLatencyHistogram, encodeLatencyHistogram, latencyPercentilesMs, recordLatencyMs, type LatencyHistogram } from './histogram.js';
import type { TelemetrySnapshot } from './server-telemetry.js';

export type { ServerInterval, TimeSeriesInterval, LoadTimeSeries } from '../result/result.js';
import type { LoadTimeSeries, ServerInterval, TimeSeriesInterval } from '../result/result.js';

/** The error key of a failed request: Graph code, `http_<status>`, `transport` or `timeout`. */
export function errorKey(status: number, body: string | undefined): string {
  if (status === -1) return 'timeout';
  if (status === 0) return 'transport';
  if (body !== undefined && body !== '') {
    try {
      const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
      if (typeof code === 'number' || (typeof code === 'string' && code !== '')) return String(code);
    } catch {
      // not JSON: fall back to the status
    }
  }
  return `http_${status}`;
}

interface IntervalCounts {
  sent: number;
  completed: number;
  errors: Map<string, number>;
  histogram: LatencyHistogram | undefined;
}

/** Collects a run's per-interval counts and histograms while it runs. */
export class TimeSeriesRecorder {
  readonly #intervals: IntervalCounts[] = [];

  constructor(readonly intervalMs = 1000) {}

  #at(ms: number): IntervalCounts {
    const k = Math.max(0, Math.floor(ms / this.intervalMs));
    while (this.#intervals.length <= k) this.#intervals.push({ sent: 0, completed: 0, errors: new Map(), histogram: undefined });
    return this.#intervals[k]!;
  }

  /** A request due at `scheduledMs` (ms after t0) was sent. */
  sent(scheduledMs: number): void {
    this.#at(scheduledMs).sent++;
  }

  /** An answer arrived at `completedMs` for the request due at `scheduledMs`, `latencyMs` after it was due. */
  answered(scheduledMs: number, completedMs: number, latencyMs: number): void {
    this.#at(completedMs).completed++;
    const interval = this.#at(scheduledMs);
    interval.histogram ??= createLatencyHistogram();
    recordLatencyMs(interval.histogram, latencyMs);
  }

  /** The request due at `scheduledMs` failed with `key` (errorKey). */
  failed(scheduledMs: number, key: string): void {
    const errors = this.#at(scheduledMs).errors;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }

  /** The stored form, with server figures from `snapshots` (may be empty); frees the histograms. */
  finish(endMs: number, snapshots: readonly TelemetrySnapshot[] = [], source?: LoadTimeSeries['server_source']): LoadTimeSeries {
    if (endMs > 0) this.#at(Math.max(0, endMs - 1e-6));
    const byIndex = new Map(snapshots.map((s) => [s.index, s]));
    const last = snapshots[snapshots.length - 1];
    const intervals = this.#intervals.map((c, k): TimeSeriesInterval => {
      const startMs = k * this.intervalMs;
      const durationMs = Math.max(0, Math.min(this.intervalMs, endMs - startMs));
      const histogram = c.histogram;
      const { p50, p90, p99, max } = histogram ? latencyPercentilesMs(histogram) : { p50: 0, p90: 0, p99: 0, max: 0 };
      const interval: TimeSeriesInterval = {
        start_s: startMs / 1000,
        duration_s: Math.round(durationMs) / 1000,
        sent: c.sent,
        completed: c.completed,
        errors: Object.fromEntries([...c.errors].sort(([a], [b]) => a.localeCompare(b))),
        latency_ms: { p50, p90, p99, max },
        hdr_base64: encodeLatencyHistogram(histogram),
      };
      histogram?.destroy();
      c.histogram = undefined;
      const begin = byIndex.get(k);
      // The reading that closes interval k: the next boundary's, or the last one for the last interval.
      const end = byIndex.get(k + 1) ?? (k === this.#intervals.length - 1 && last && last.index > k ? last : undefined);
      if (begin && end) interval.server = serverInterval(begin, end, c.completed);
      return interval;
    });
    return { interval_ms: this.intervalMs, ...(source ? { server_source: source } : {}), intervals };
  }
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function serverInterval(begin: TelemetrySnapshot, end: TelemetrySnapshot, answers: number): ServerInterval {
  const m = end.metrics ?? {};
  const pick = (...names: string[]): number | null => {
    for (const n of names) if (m[n] !== undefined) return m[n]!;
    return null;
  };
  const cpu = begin.process && end.process ? { user: end.process.userMs - begin.process.userMs, system: end.process.systemMs - begin.process.systemMs } : undefined;
  const perAnswer = (ms: number | undefined): number | null => (ms === undefined || answers === 0 ? null : round((ms * 1000) / answers, 1));
  const loopDelayS = pick('sigload_event_loop_delay_p99_seconds', 'nodejs_eventloop_lag_p99_seconds');
  return {
    cpu_user_ms: cpu ? round(cpu.user, 1) : null,
    cpu_system_ms: cpu ? round(cpu.system, 1) : null,
    cpu_user_us_per_request: perAnswer(cpu?.user),
    cpu_system_us_per_request: perAnswer(cpu?.system),
    rss_bytes: end.process?.rssBytes ?? pick('sigload_rss_bytes', 'process_resident_memory_bytes'),
    heap_used_bytes: pick('sigload_heap_used_bytes', 'nodejs_heap_size_used_bytes'),
    event_loop_delay_p99_ms: loopDelayS === null ? null : round(loopDelayS * 1000, 3),
    gauges: m,
  };
}

/** The intervals' histograms decoded and merged (what the run's whole histogram must equal). */
export function mergeIntervalHistograms(series: LoadTimeSeries): LatencyHistogram {
  const merged = createLatencyHistogram();
  for (const interval of series.intervals) {
    const h = decodeLatencyHistogram(interval.hdr_base64);
    if (h === undefined) continue;
    merged.add(h);
    h.destroy();
  }
  return merged;
}

/** One window of several intervals: latency percentiles over its merged histograms, answers/s, mean RSS. */
export interface SeriesWindow {
  start_s: number;
  duration_s: number;
  answered_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** Mean of the intervals' server RSS, bytes; null without server figures. */
  rss_bytes: number | null;
  /** Server CPU (user + system) per answer over the window, µs; null without /proc. */
  cpu_us_per_request: number | null;
}

/**
 * The series in windows of `windowSeconds` (e.g. per minute of a soak). A last partial window
 * shorter than half a window (the answers that arrive after the schedule's end) joins the one before.
 */
export function seriesWindows(series: LoadTimeSeries, windowSeconds: number): SeriesWindow[] {
  const per = Math.max(1, Math.round((windowSeconds * 1000) / series.interval_ms));
  const bounds: number[] = [];
  for (let at = 0; at < series.intervals.length; at += per) bounds.push(at);
  const tail = series.intervals.length - bounds[bounds.length - 1]!;
  if (bounds.length > 1 && tail < per / 2) bounds.pop();
  const out: SeriesWindow[] = [];
  for (let w = 0; w < bounds.length; w++) {
    const part = series.intervals.slice(bounds[w], w + 1 < bounds.length ? bounds[w + 1] : series.intervals.length);
    const merged = mergeIntervalHistograms({ interval_ms: series.interval_ms, intervals: part });
    const { p50, p99 } = latencyPercentilesMs(merged);
    merged.destroy();
    const duration = part.reduce((s, i) => s + i.duration_s, 0);
    const answered = part.reduce((s, i) => s + i.completed, 0);
    const rss = part.map((i) => i.server?.rss_bytes).filter((x): x is number => typeof x === 'number');
    const cpu = part.map((i) => i.server).filter((s) => s && s.cpu_user_ms !== null && s.cpu_system_ms !== null);
    const cpuMs = cpu.reduce((s, x) => s + x!.cpu_user_ms! + x!.cpu_system_ms!, 0);
    const cpuAnswers = part.filter((i) => i.server && i.server.cpu_user_ms !== null).reduce((s, i) => s + i.completed, 0);
    out.push({
      start_s: part[0]!.start_s,
      duration_s: round(duration, 3),
      answered_per_s: duration > 0 ? round(answered / duration, 2) : 0,
      p50_ms: p50,
      p99_ms: p99,
      errors: part.reduce((s, i) => s + Object.values(i.errors).reduce((a, b) => a + b, 0), 0),
      rss_bytes: rss.length ? Math.round(rss.reduce((a, b) => a + b, 0) / rss.length) : null,
      cpu_us_per_request: cpu.length && cpuAnswers > 0 ? round((cpuMs * 1000) / cpuAnswers, 1) : null,
    });
  }
  return out;
}

/**
 * The server's side of a load run's time series: at every interval boundary (t0 + k·interval),
 * the server process's CPU user and system time and RSS from /proc/<pid>/stat (when the harness
 * started the server and knows its pid), and a scrape of its Prometheus `/metrics` (sigload's own
 * server: heap used, RSS, event-loop delay p99 since the previous scrape, sessions, queue depths,
 * sweep totals; another server: whatever of `TELEMETRY_SERIES` it exposes, including prom-client's
 * default process metrics). Scrapes go over fetch, not the load's own sockets, and time out after
 * `scrapeTimeoutMs`; a missed scrape leaves that interval's server gauges empty.
 */
import { performance } from 'node:perf_hooks';
import { processCpuAvailable, processUsage, type ProcessUsage } from './process-cpu.js';

/** Where the server's telemetry comes from; either part may be absent. */
export interface ServerTelemetrySource {
  /** Server process id (a child the harness started): CPU and RSS from /proc. */
  pid?: number;
  /** Prometheus text endpoint, e.g. `http://127.0.0.1:8080/metrics`. */
  metricsUrl?: string;
  /** Bearer token for the metrics endpoint (sigload's server wants its admin token). */
  metricsToken?: string;
}

export interface TelemetryOptions {
  /** Sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** Per-scrape deadline, ms. Default 2000. */
  scrapeTimeoutMs?: number;
}

export const TELEMETRY_DEFAULTS: Required<TelemetryOptions> = { intervalMs: 1000, scrapeTimeoutMs: 2000 };

/** One boundary's reading. `atMs` is the time it was taken, ms after the run's t0. */
export interface TelemetrySnapshot {
  index: number;
  atMs: number;
  process?: ProcessUsage;
  /** Selected `/metrics` series (name, or name{labels}) → value; absent when the scrape failed. */
  metrics?: Record<string, number>;
}

/**
 * Series kept from a scrape: sigload's own names first, then prom-client's defaults (what a
 * Node server built on prom-client's `collectDefaultMetrics` exposes).
 */
export const TELEMETRY_SERIES: readonly string[] = [
  'sigload_event_loop_delay_p99_seconds',
  'sigload_heap_used_bytes',
  'sigload_rss_bytes',
  'sigload_sessions',
  'sigload_webhook_queue_depth',
  'sigload_inbox_entries',
  'sigload_inbox_long_polls',
  'sigload_messages_stored',
  'sigload_retention_sweeps_total',
  'sigload_retention_messages_deleted_total',
  'sigload_retention_user_ids_deleted_total',
  'sigload_webhook_pieces_total',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'process_resident_memory_bytes',
];

/** Samples of a Prometheus text exposition whose metric name is in `names`, keyed `name` or `name{labels}`. */
export function parsePrometheusText(text: string, names: readonly string[] = TELEMETRY_SERIES): Record<string, number> {
  const wanted = new Set(names);
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !wanted.has(m[1]!)) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out[`${m[1]}${m[2] ?? ''}`] = value;
  }
  return out;
}

async function scrape(source: ServerTelemetrySource, timeoutMs: number): Promise<Record<string, number> | undefined> {
  try {
    const response = await fetch(source.metricsUrl!, {
      headers: source.metricsToken ? { authorization: `Bearer ${source.metricsToken}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return response.ok ? parsePrometheusText(text) : undefined;
  } catch {
    return undefined;
  }
}

export interface TelemetrySampler {
  /** Takes a last reading now, waits for outstanding scrapes, and returns every reading in order. */
  stop(): Promise<TelemetrySnapshot[]>;
}

/** Starts reading at `t0` (performance.now() clock) and at every interval after it. */
export function startServerTelemetry(source: ServerTelemetrySource, t0: number, options: TelemetryOptions = {}): TelemetrySampler {
  const { intervalMs, scrapeTimeoutMs } = { ...TELEMETRY_DEFAULTS, ...options };
  const readProc = source.pid !== undefined && processCpuAvailable(source.pid);
  const snapshots: TelemetrySnapshot[] = [];
  const pending: Promise<void>[] = [];
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  const take = (): void => {
    const snapshot: TelemetrySnapshot = { index: index++, atMs: performance.now() - t0 };
    if (readProc) {
      try {
        snapshot.process = processUsage(source.pid!);
      } catch {
        // the server exited
      }
    }
    snapshots.push(snapshot);
    if (source.metricsUrl) {
      pending.push(
        scrape(source, scrapeTimeoutMs).then((metrics) => {
          if (metrics) snapshot.metrics = metrics;
        }),
      );
    }
  };
  const schedule = (): void => {
    timer = setTimeout(
      () => {
        take();
        schedule();
      },
      Math.max(0, t0 + index * intervalMs - performance.now()),
    );
  };
  schedule();
  return {
    async stop() {
      clearTimeout(timer);
      take();
      await Promise.all(pending);
      return snapshots;
    },
  };
}

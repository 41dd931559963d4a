/**
 * Open-model load driver: requests arrive at a fixed rate whatever the server does, and each
 * request's latency runs from its *scheduled* send time, not from when it was actually
 * written. A server that stalls therefore pays for every request that should have been sent
 * during the stall (no coordinated omission; harness-anchors.md §2.2, wrk2's method).
 *
 * Schedule: request i is due at t0 + i·1000/rate ms, or at t0 + `schedule.offsetMs(i)` when a
 * schedule is given (load/schedule.ts: ramping stages, steps, spikes, soaks, Poisson arrivals).
 * setTimeout wakes about once per ms, so every wake dispatches all requests whose time has passed. A late dispatch, or a request
 * queued behind busy sockets in the keep-alive agent (`connections` sockets), is counted in
 * its latency because the clock started at the scheduled time.
 *
 * Bounded: at most ⌊rate·duration⌋ requests (the schedule's count; or `maxRequests`), each with
 * a deadline of `timeoutMs` after its scheduled time. Loopback only unless `allowRemote`.
 *
 * Shards (load/shard.ts): with `shard` I/N the driver sends only the requests j of the schedule
 * with j mod N = I, each at t0 + offsetMs(j), and `requestAt`/`onResponse` get j; with
 * `startAtEpochMs` t0 is that wall-clock instant, shared by every shard (a start already passed by
 * less than the schedule's length sends what is due at once and is not clean).
 *
 * With `timeSeries` (or `serverTelemetry`) the run also keeps per-second intervals
 * (load/time-series.ts): requests, answers, errors by Graph code, an HDR histogram each, and the
 * server's CPU, memory and `/metrics` gauges (load/server-telemetry.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { createLatencyHistogram, latencyPercentilesMs, recordLatencyMs, type LatencyHistogram, type LatencyPercentilesMs } from './histogram.js';
import { startGeneratorGuard, judgeQuality, type GeneratorUsage, type Quality } from './generator-guard.js';
import { KindedError } from '../../kinded-error.js';
import { buildSchedule, MAX_SCHEDULE_SECONDS, type ArrivalSchedule } from './schedule.js';
import { TimeSeriesRecorder, errorKey, type LoadTimeSeries } from './time-series.js';
import { startServerTelemetry, type ServerTelemetrySource } from './server-telemetry.js';
import { WHOLE_RUN, lateStartNote, shardSchedule, startInstant, type Shard, type ShardRecord } from './shard.js';

export type LoadDriverErrorKind = 'invalid-option' | 'remote-target-refused';

export class LoadDriverError extends KindedError<LoadDriverErrorKind> {}

/** One request of a run; fields left out fall back to the run's options. */
export interface LoadRequest {
  method?: string;
  /** Path and query, appended to the URL's origin. Default: the URL's own path. */
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface OpenLoopOptions {
  url: string;
  /** Offered arrival rate, requests per second (required unless `schedule` is given). */
  ratePerSecond?: number;
  /** Required unless `schedule` is given. */
  durationSeconds?: number;
  /** When requests are due (load/schedule.ts); replaces `ratePerSecond` × `durationSeconds`. */
  schedule?: ArrivalSchedule;
  /** Keep-alive sockets. @default 16 */
  connections?: number;
  /** @default 'GET' */
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Per-request override (e.g. fresh ciphertexts). Called at dispatch time with the request's global index j. */
  requestAt?: (index: number) => LoadRequest;
  /** Upper bound on requests (⌊rate·duration⌋ bounds it in any case). @default Infinity */
  maxRequests?: number;
  /** Deadline per request from its scheduled time, ms. @default 10000 */
  timeoutMs?: number;
  /** Allow a non-loopback URL (sigload sends load only to loopback). @default false */
  allowRemote?: boolean;
  /** Statuses that count as expected answers. @default 2xx */
  expectStatus?: (status: number) => boolean;
  /** Receives each answer's status and body, with the request's global index (bodies are only buffered when this is set). */
  onResponse?: (index: number, status: number, body: string) => void;
  /** Keep per-request timing (scheduled offset, latency, status) for windowed analysis. @default false */
  keepSamples?: boolean;
  /** Worker threads in this process, for the generator guard. @default 0 */
  workerThreads?: number;
  /** Keep a per-interval time series (`true`: 1 s intervals). Default false. */
  timeSeries?: boolean | { intervalMs: number };
  /** Read the server's CPU/RSS (/proc) and `/metrics` at every interval boundary; implies `timeSeries`. */
  serverTelemetry?: ServerTelemetrySource;
  /** Send only this shard's requests (j mod N = I; load/shard.ts). @default the whole run */
  shard?: Shard;
  /** T0 as epoch ms, the same instant on every shard (`--start-at`). @default shortly after the call */
  startAtEpochMs?: number;
}

/** Defaults of `OpenLoopOptions` (documented per field there). */
export const DEFAULT_OPEN_LOOP_OPTIONS = {
  connections: 16,
  method: 'GET',
  maxRequests: Infinity,
  timeoutMs: 10_000,
  allowRemote: false,
  expectStatus: (status: number): boolean => status >= 200 && status < 300,
  keepSamples: false,
  workerThreads: 0,
  shard: WHOLE_RUN,
} as const;

export interface RequestSample {
  /** Scheduled send time, ms after the run's t0. */
  scheduledMs: number;
  /** When the driver actually sent it, ms after t0 (≥ scheduledMs; the difference is dispatch lag). */
  sentMs: number;
  /** Completion − scheduled, ms; NaN when the request failed or timed out. */
  latencyMs: number;
  /** HTTP status; 0 for transport errors, -1 for timeouts. */
  status: number;
}

export interface OpenLoopReport {
  latency_ms: LatencyPercentilesMs;
  requests: {
    sent: number;
    completed: number;
    /** Transport errors + timeouts (what `--json` users count as failures). */
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  offered_rate_per_s: number;
  /** Completed ÷ the run's wall time. */
  completed_rate_per_s: number;
  duration_s: number;
  connections: number;
  /** How late the scheduler dispatched requests (generator health), ms. */
  dispatch_lag_ms: { p99: number; max: number };
  generator: GeneratorUsage;
  quality: Quality;
  /** The arrival schedule (stages, start rate, arrivals, seed); a constant rate is one stage. */
  schedule: ArrivalSchedule['spec'];
  /** Which shard of the run this was and its T0 (epoch ms), when `shard` or `startAtEpochMs` was given. */
  shard?: ShardRecord;
}

export interface OpenLoopRun {
  report: OpenLoopReport;
  histogram: LatencyHistogram;
  /** t0 of the schedule on the performance.now() clock. */
  startedAtMs: number;
  /** One per request this generator sent, in order (for a shard, its k-th owned request). */
  samples?: RequestSample[];
  /** Per-interval series, when `timeSeries` or `serverTelemetry` was asked for. */
  timeSeries?: LoadTimeSeries;
}

/**
 * Parses `--expect-status 2xx,429`: the answers a run expects (a class `Nxx` or an exact status),
 * so that refusals provoked on purpose (e.g. 429 from a rate limit) do not make the figure unclean.
 */
export function parseExpectedStatuses(text: string): (status: number) => boolean {
  const parts = text.split(',').map((p) => p.trim().toLowerCase());
  const classes = new Set<number>();
  const exact = new Set<number>();
  for (const part of parts) {
    const m = /^([1-5])xx$|^([1-5]\d\d)$/.exec(part);
    if (!m) throw new LoadDriverError('invalid-option', `--expect-status takes HTTP statuses or classes like 2xx,429, got ${JSON.stringify(part)}`);
    if (m[1]) classes.add(Number(m[1]));
    else exact.add(Number(m[2]));
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

/** Dispatch lag p99 above which the generator counts as not keeping its schedule. */
export const MAX_DISPATCH_LAG_P99_MS = 10;

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]']);

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname;
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function checkTargetUrl(raw: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoadDriverError('invalid-option', `not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LoadDriverError('invalid-option', `unsupported protocol ${url.protocol}`);
  }
  if (!allowRemote && !isLoopbackUrl(url)) {
    throw new LoadDriverError('remote-target-refused', `${url.host} is not loopback; pass allowRemote (--allow-remote) to load a remote host`);
  }
  return url;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopRun> {
  const url = checkTargetUrl(options.url, options.allowRemote ?? DEFAULT_OPEN_LOOP_OPTIONS.allowRemote);
  const schedule = options.schedule ?? constantRate(options.ratePerSecond, options.durationSeconds);
  const connections = options.connections ?? DEFAULT_OPEN_LOOP_OPTIONS.connections;
  if (!Number.isInteger(connections) || connections < 1) throw new LoadDriverError('invalid-option', `connections must be a positive integer`);
  const scheduled = Math.min(options.maxRequests ?? DEFAULT_OPEN_LOOP_OPTIONS.maxRequests, schedule.count);
  if (scheduled < 1) throw new LoadDriverError('invalid-option', 'rate × duration gives no request');
  const shard = options.shard ?? DEFAULT_OPEN_LOOP_OPTIONS.shard;
  // This generator's requests: the k-th is the run's request mine.globalIndex(k).
  const mine = shardSchedule(schedule, scheduled, shard);
  const total = mine.count;
  if (total < 1) throw new LoadDriverError('invalid-option', `shard ${shard.index}/${shard.count} owns no request of the ${scheduled} scheduled`);
  const sharded = shard.count > 1;
  const rate = options.schedule || sharded ? Math.round((total / (schedule.durationMs / 1000)) * 100) / 100 : options.ratePerSecond!;
  const timeoutMs = options.timeoutMs ?? DEFAULT_OPEN_LOOP_OPTIONS.timeoutMs;
  const expect = options.expectStatus ?? DEFAULT_OPEN_LOOP_OPTIONS.expectStatus;
  const wantSeries = options.timeSeries !== undefined && options.timeSeries !== false;
  const series = wantSeries || options.serverTelemetry ? new TimeSeriesRecorder(typeof options.timeSeries === 'object' ? options.timeSeries.intervalMs : 1000) : undefined;
  const transport = url.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const histogram = createLatencyHistogram();
  const lagHistogram = createLatencyHistogram();
  const samples: RequestSample[] | undefined = (options.keepSamples ?? DEFAULT_OPEN_LOOP_OPTIONS.keepSamples) ? new Array(total) : undefined;
  const counts = { sent: 0, completed: 0, errors: 0, timeouts: 0, non2xx: 0, unexpected: 0 };
  const guard = startGeneratorGuard({ workerThreads: options.workerThreads ?? DEFAULT_OPEN_LOOP_OPTIONS.workerThreads });

  let settled = 0;
  let resolveAll!: () => void;
  const allSettled = new Promise<void>((r) => (resolveAll = r));
  const settle = (): void => {
    settled++;
    if (settled === total) resolveAll();
  };

  // T0 on the performance.now() clock: the given epoch instant, else shortly after setup.
  const start = options.startAtEpochMs === undefined ? undefined : startInstant(options.startAtEpochMs, schedule.durationMs, Date.now());
  const t0 = start ? performance.now() + (start.atMs - Date.now()) : performance.now() + 5;
  const t0EpochMs = start ? start.atMs : Date.now() + 5;
  const telemetry = options.serverTelemetry ? startServerTelemetry(options.serverTelemetry, t0, { intervalMs: series!.intervalMs }) : undefined;
  const dispatch = (local: number, scheduledAt: number): void => {
    const index = mine.globalIndex(local);
    const spec = options.requestAt ? options.requestAt(index) : {};
    const method = spec.method ?? options.method ?? DEFAULT_OPEN_LOOP_OPTIONS.method;
    const body = spec.body ?? options.body;
    const headers: Record<string, string | number> = { ...options.headers, ...spec.headers };
    if (body !== undefined) headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    const sentAt = performance.now();
    recordLatencyMs(lagHistogram, Math.max(0.001, sentAt - scheduledAt));
    series?.sent(scheduledAt - t0);
    let done = false;
    const finish = (status: number, latency: number, body?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (samples) samples[local] = { scheduledMs: scheduledAt - t0, sentMs: sentAt - t0, latencyMs: latency, status };
      if (series && (status < 200 || status >= 300)) series.failed(scheduledAt - t0, errorKey(status, body));
      settle();
    };
    const req = transport.request(
      { protocol: url.protocol, hostname: url.hostname, port: url.port, path: spec.path ?? url.pathname + url.search, method, headers, agent },
      (res) => {
        const status = res.statusCode ?? 0;
        const refused = status < 200 || status >= 300;
        // Bodies are buffered for the caller, and for the error code of a refusal in the time series.
        const chunks: Buffer[] | undefined = options.onResponse || (series && refused) ? [] : undefined;
        res.on('data', (c: Buffer) => chunks?.push(c));
        res.on('end', () => {
          if (done) return;
          const now = performance.now();
          const latency = now - scheduledAt;
          counts.completed++;
          recordLatencyMs(histogram, latency);
          series?.answered(scheduledAt - t0, now - t0, latency);
          if (refused) counts.non2xx++;
          if (!expect(status)) counts.unexpected++;
          const body = chunks ? Buffer.concat(chunks).toString('utf8') : undefined;
          if (options.onResponse) options.onResponse(index, status, body!);
          finish(status, latency, body);
        });
        res.on('error', () => {
          if (done) return;
          counts.errors++;
          finish(0, NaN);
        });
      },
    );
    const deadline = setTimeout(() => {
      if (done) return;
      counts.timeouts++;
      finish(-1, NaN);
      req.destroy();
    }, Math.max(1, scheduledAt + timeoutMs - performance.now()));
    req.on('error', () => {
      if (done) return;
      counts.errors++;
      finish(0, NaN);
    });
    counts.sent++;
    if (body !== undefined) req.end(body);
    else req.end();
  };

  let next = 0;
  await new Promise<void>((resolveSchedule) => {
    const tick = (): void => {
      const now = performance.now();
      const dueAt = (local: number): number => t0 + mine.offsetMs(local);
      while (next < total && dueAt(next) <= now) {
        dispatch(next, dueAt(next));
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, dueAt(next) - performance.now()));
      else resolveSchedule();
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await allSettled;
  const endedAt = performance.now();
  agent.destroy();
  const snapshots = telemetry ? await telemetry.stop() : [];
  const generator = guard.stop();
  const wallS = (endedAt - t0) / 1000;
  const lag = latencyPercentilesMs(lagHistogram);
  // Transport errors and timeouts are failures; answers the caller did not expect make the figure unclean.
  const quality = judgeQuality({ generator, errors: counts.errors, timeouts: counts.timeouts, non2xx: counts.unexpected });
  // A scheduler that dispatches late is a generator that cannot keep up (its CPU may be taken
  // by other processes, which its own CPU figures do not show): the offered load was not the one asked for.
  if (lag.p99 > MAX_DISPATCH_LAG_P99_MS) {
    quality.clean = false;
    quality.notes.push(`generator behind schedule: dispatch lag p99 ${lag.p99} ms (> ${MAX_DISPATCH_LAG_P99_MS} ms)`);
  }
  if (start && start.lateByMs > 0) {
    quality.clean = false;
    quality.notes.push(lateStartNote(start.lateByMs));
  }
  const report: OpenLoopReport = {
    latency_ms: latencyPercentilesMs(histogram),
    requests: {
      sent: counts.sent,
      completed: counts.completed,
      errors: counts.errors + counts.timeouts,
      timeouts: counts.timeouts,
      non2xx: counts.non2xx,
    },
    offered_rate_per_s: rate,
    completed_rate_per_s: Math.round((counts.completed / wallS) * 100) / 100,
    duration_s: Math.round(wallS * 1000) / 1000,
    connections,
    dispatch_lag_ms: { p99: lag.p99, max: lag.max },
    generator,
    quality,
    schedule: schedule.spec,
    ...(options.shard || start ? { shard: { index: shard.index, count: shard.count, start_at_ms: t0EpochMs } } : {}),
  };
  lagHistogram.destroy();
  const source = options.serverTelemetry
    ? { proc: snapshots.some((s) => s.process !== undefined), ...(options.serverTelemetry.metricsUrl ? { metrics_url: options.serverTelemetry.metricsUrl } : {}) }
    : undefined;
  const timeSeries = series?.finish(endedAt - t0, snapshots, source);
  return { report, histogram, startedAtMs: t0, ...(samples ? { samples } : {}), ...(timeSeries ? { timeSeries } : {}) };
}

/** The driver's original schedule: `rate` requests per second for `duration` seconds. */
function constantRate(rate: number | undefined, duration: number | undefined): ArrivalSchedule {
  if (rate === undefined || !(rate > 0) || !Number.isFinite(rate)) throw new LoadDriverError('invalid-option', `rate must be > 0, got ${rate}`);
  if (duration === undefined || !(duration > 0) || !Number.isFinite(duration)) throw new LoadDriverError('invalid-option', `duration must be > 0, got ${duration}`);
  if (Math.floor(rate * duration) < 1) throw new LoadDriverError('invalid-option', 'rate × duration gives no request');
  if (duration > MAX_SCHEDULE_SECONDS) throw new LoadDriverError('invalid-option', `duration ${duration} s is above the ${MAX_SCHEDULE_SECONDS} s bound of any run`);
  return buildSchedule({ startRate: rate, stages: [{ durationSeconds: duration, targetRate: rate }] });
}

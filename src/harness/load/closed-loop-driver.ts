/**
 * Closed-model load: a fixed number of connections, each sending its next request as soon as
 * the previous answer arrives (autocannon 9, programmatic). Throughput figures come from here;
 * latency figures of a closed model are subject to coordinated omission and are reported for
 * context only (open-loop-driver.ts gives the honest ones).
 *
 * Latencies include non-2xx answers (`excludeErrorStats` off, autocannon's default).
 * autocannon's own histogram is in ms with 1 ms resolution; we keep its percentiles and also
 * record each response time (µs) into our HDR histogram through its `response` event.
 */
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { checkTargetUrl, type LoadRequest } from './open-loop-driver.js';
import { createLatencyHistogram, latencyPercentilesMs, recordLatencyMs, type LatencyHistogram, type LatencyPercentilesMs } from './histogram.js';
import { startGeneratorGuard, judgeQuality, type GeneratorUsage, type Quality } from './generator-guard.js';

/** The part of autocannon 9's programmatic API we use (it ships no types). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string) => void;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  pipelining?: number;
  timeout?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  requests?: AutocannonRequest[];
  overallRate?: number;
  connectionRate?: number;
  excludeErrorStats?: boolean;
  /** Sampling interval, ms (default 1000). autocannon only notices the end of an `amount` run on this tick. */
  sampleInt?: number;
}
interface AutocannonHistogramSummary {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
}
export interface AutocannonResult {
  latency: AutocannonHistogramSummary;
  requests: { average: number; total: number; sent: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  start: Date;
  finish: Date;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
  on(event: 'done', listener: (result: AutocannonResult) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
type Autocannon = (opts: AutocannonOptions) => AutocannonInstance;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

export interface ClosedLoopOptions {
  url: string;
  /** Fixed concurrent connections (autocannon's default). @default 10 */
  connections?: number;
  durationSeconds: number;
  /** Stop after this many requests instead of after the duration (autocannon `amount`). */
  maxRequests?: number;
  /** @default 'GET' */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Per-request override, called for every request (e.g. to vary the recipient). */
  requestAt?: (index: number) => LoadRequest;
  /** Per-request timeout, seconds. @default 10 */
  timeoutSeconds?: number;
  /** Allow a non-loopback URL (sigload sends load only to loopback). @default false */
  allowRemote?: boolean;
  /** Receives every answer's status and body. */
  onResponse?: (status: number, body: string) => void;
  /** Non-2xx answers the caller expects (not counted against quality). @default 0 */
  expectedNon2xx?: number;
  /** Worker threads in this process, for the generator guard. @default 0 */
  workerThreads?: number;
}

/** Defaults of `ClosedLoopOptions` (documented per field there). */
export const DEFAULT_CLOSED_LOOP_OPTIONS = {
  connections: 10,
  method: 'GET',
  timeoutSeconds: 10,
  allowRemote: false,
  expectedNon2xx: 0,
  workerThreads: 0,
} as const;

export interface ClosedLoopReport {
  /** Completed requests ÷ duration. */
  requests_per_s: number;
  requests: { completed: number; errors: number; timeouts: number; non2xx: number };
  /** Closed-model latency (coordinated omission applies), ms, from our HDR histogram. */
  latency_ms: LatencyPercentilesMs;
  connections: number;
  duration_s: number;
  generator: GeneratorUsage;
  quality: Quality;
}

export interface ClosedLoopRun {
  report: ClosedLoopReport;
  histogram: LatencyHistogram;
  autocannon: AutocannonResult;
}

/** Runs autocannon with raw options and resolves its result (for the rate-mode check). */
export function runAutocannon(opts: AutocannonOptions, onResponse?: (status: number, responseTimeMs: number) => void): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts);
    if (onResponse) instance.on('response', (_c, status, _b, ms) => onResponse(status, ms));
    instance.on('done', resolve);
    instance.on('error', reject);
  });
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopRun> {
  const url = checkTargetUrl(options.url, options.allowRemote ?? DEFAULT_CLOSED_LOOP_OPTIONS.allowRemote);
  const connections = options.connections ?? DEFAULT_CLOSED_LOOP_OPTIONS.connections;
  const histogram = createLatencyHistogram();
  let completed = 0;
  let index = 0;
  const requestAt = options.requestAt;
  const opts: AutocannonOptions = {
    url: url.toString(),
    connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? DEFAULT_CLOSED_LOOP_OPTIONS.timeoutSeconds,
    excludeErrorStats: false,
  };
  if (options.maxRequests !== undefined) {
    opts.amount = options.maxRequests;
    // autocannon notices that an `amount` run is over only on its sampling tick (1 s by
    // default), so the run would idle up to a second after the last answer: tick often, and
    // time the run to its last answer below.
    opts.sampleInt = 50;
  }
  if (options.method) opts.method = options.method;
  if (options.headers) opts.headers = options.headers;
  if (options.body !== undefined) opts.body = options.body;
  if (requestAt || options.onResponse) {
    opts.requests = [
      {
        ...(options.onResponse ? { onResponse: options.onResponse } : {}),
        setupRequest: (req) => {
          const spec = requestAt ? requestAt(index++) : {};
          return {
            ...req,
            method: spec.method ?? options.method ?? DEFAULT_CLOSED_LOOP_OPTIONS.method,
            path: spec.path ?? url.pathname + url.search,
            headers: { ...options.headers, ...spec.headers },
            ...(spec.body !== undefined ? { body: typeof spec.body === 'string' ? spec.body : Buffer.from(spec.body) } : {}),
          };
        },
      },
    ];
  }
  const guard = startGeneratorGuard({ workerThreads: options.workerThreads ?? DEFAULT_CLOSED_LOOP_OPTIONS.workerThreads });
  const startedAtMs = performance.now();
  let lastAnswerAtMs = startedAtMs;
  const result = await runAutocannon(opts, (_status, ms) => {
    completed++;
    lastAnswerAtMs = performance.now();
    recordLatencyMs(histogram, ms);
  });
  const generator = guard.stop();
  // Wall time: for an `amount` run, from our start to its last answer; otherwise autocannon's
  // own start/finish (its `duration` is whole seconds).
  const durationS = Math.max(
    1e-3,
    options.maxRequests !== undefined ? (lastAnswerAtMs - startedAtMs) / 1000 : (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000,
  );
  const quality = judgeQuality({
    generator,
    errors: Math.max(0, result.errors - result.timeouts),
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    expectedNon2xx: options.expectedNon2xx ?? DEFAULT_CLOSED_LOOP_OPTIONS.expectedNon2xx,
  });
  return {
    report: {
      requests_per_s: Math.round((completed / durationS) * 100) / 100,
      requests: { completed, errors: Math.max(0, result.errors - result.timeouts), timeouts: result.timeouts, non2xx: result.non2xx },
      latency_ms: latencyPercentilesMs(histogram),
      connections,
      duration_s: Math.round(durationS * 1000) / 1000,
      generator,
      quality,
    },
    histogram,
    autocannon: result,
  };
}

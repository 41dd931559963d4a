/**
 * `baseline`: a bare node:http JSON handler (src/harness/load/baseline-child.ts) on this machine,
 * driven with the same load settings as the server — the reference that server figures are
 * divided by (anchors `server-*-vs-bare-http`). Measured once per process and reused by the
 * scenarios of the same run, so every anchor divides figures of one run.
 *
 * Figures: closed-model requests/s with `connections` connections (its saturation rate), and
 * the open-model latency at half that rate. Each figure has one sample per repetition: several
 * short closed windows, then several short open windows, against the same warmed child.
 */
import { runClosedLoop } from '../load/closed-loop-driver.js';
import { runOpenLoop } from '../load/open-loop-driver.js';
import { latencyDistribution, mergedLatencyDistribution, type LatencyHistogram } from '../load/histogram.js';
import { median } from '../statistics/stats.js';
import { mergeQuality, type Quality } from '../load/generator-guard.js';
import { startBaselineTarget, type RunningTarget } from '../load/target.js';
import type { LatencyDistribution } from '../result/result.js';
import type { LoadSizes } from '../load/sizes.js';
import { LOAD_SIZES } from '../load/sizes.js';
import type { LoadFigure, LoadScenarioOptions, LoadScenarioResult } from './stage.js';

/** The body every baseline request carries: shaped like a business text send. */
export const BASELINE_BODY = JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '15550001111', type: 'text', text: { body: 'hello from the baseline' } });

export interface BaselineFigures {
  connections: number;
  closedSeconds: number;
  /** Closed-model requests/s, one per repetition. */
  requestsPerSecond: number[];
  /** Median of requestsPerSecond: the saturation rate. */
  saturationRate: number;
  /** Open-model rate used for latency: half the saturation rate. */
  openRate: number;
  /** Open-model p99 per repetition, ms. */
  openP99sMs: number[];
  /** Median of openP99sMs. */
  openP99Ms: number;
  /** All open repetitions in one distribution. */
  openLatency: LatencyDistribution;
  closedQuality: Quality;
  openQuality: Quality;
}

const cache = new Map<string, Promise<BaselineFigures>>();

/** Requests sent before the repetitions so that they measure a warmed child. */
export const WARM_UP_REQUESTS = 500;

async function measure(sizes: LoadSizes, log: (line: string) => void): Promise<BaselineFigures> {
  const bare = await BareHandler.start(sizes.connections);
  try {
    for (let i = 0; i < sizes.repetitions; i++) await bare.closedWindow(sizes.closedSeconds);
    const rates = bare.rates;
    const saturationRate = median(rates);
    const openRate = Math.max(1, Math.round(saturationRate / 2));
    const openP99sMs: number[] = [];
    const openQualities: Quality[] = [];
    const histograms: LatencyHistogram[] = [];
    for (let i = 0; i < sizes.repetitions; i++) {
      const open = await bare.openWindow(openRate, sizes.openSeconds);
      openP99sMs.push(latencyDistribution(open.histogram).p99);
      openQualities.push(open.report.quality);
      histograms.push(open.histogram);
    }
    const openLatency = mergedLatencyDistribution(histograms);
    for (const h of histograms) h.destroy();
    const openP99Ms = median(openP99sMs);
    log(`baseline: ${saturationRate} req/s closed (${sizes.connections} connections, ${rates.length} repetitions); open model at ${openRate} req/s: p99 ${openP99Ms} ms (median of ${openP99sMs.length})`);
    return {
      connections: sizes.connections,
      closedSeconds: sizes.closedSeconds,
      requestsPerSecond: rates,
      saturationRate,
      openRate,
      openP99sMs,
      openP99Ms,
      openLatency,
      closedQuality: bare.quality,
      openQuality: mergeQuality(...openQualities),
    };
  } finally {
    await bare.stop();
  }
}

/**
 * The bare node:http JSON handler as a running child, warmed up, with its closed-model windows
 * recorded (`rates`, `quality`). The baseline suite measures it on its own; the server scenarios
 * keep one beside their own windows (`beside`, ABBA order). The host's speed drifts: the bare
 * handler alone can move several-fold between runs minutes apart (docs/measurements.md), so a
 * ratio whose two sides were measured minutes apart can be off by half; windows side by side
 * drift together.
 */
export class BareHandler {
  readonly #running: RunningTarget;
  readonly #connections: number;
  /** Requests/s of each closed window so far. */
  readonly rates: number[] = [];
  readonly #qualities: Quality[] = [];

  private constructor(running: RunningTarget, connections: number) {
    this.#running = running;
    this.#connections = connections;
  }

  /** Starts the bare handler and warms it up (not recorded): no window measures a cold JIT. */
  static async start(connections: number): Promise<BareHandler> {
    const running = await startBaselineTarget();
    const bare = new BareHandler(running, connections);
    try {
      (await runClosedLoop({ ...bare.#request(), durationSeconds: 10, maxRequests: WARM_UP_REQUESTS })).histogram.destroy();
    } catch (error) {
      await running.stop();
      throw error;
    }
    return bare;
  }

  /** One closed-model window, recorded in `rates` and `quality`. */
  async closedWindow(durationSeconds: number): Promise<void> {
    const run = await runClosedLoop({ ...this.#request(), durationSeconds });
    run.histogram.destroy();
    this.rates.push(run.report.requests_per_s);
    this.#qualities.push(run.report.quality);
  }

  /** One open-model window at `ratePerSecond` (the caller destroys its histogram). */
  openWindow(ratePerSecond: number, durationSeconds: number): ReturnType<typeof runOpenLoop> {
    return runOpenLoop({ ...this.#request(), ratePerSecond, durationSeconds });
  }

  /**
   * Repetition `repetition` of a scenario's measurement with a closed window of
   * `durationSeconds` beside it: before it in repetitions 0, 3, 4, 7, …, after it otherwise (ABBA).
   */
  async beside<T>(repetition: number, durationSeconds: number, measure: () => Promise<T>): Promise<T> {
    const bareFirst = repetition % 4 === 0 || repetition % 4 === 3;
    if (bareFirst) await this.closedWindow(durationSeconds);
    const result = await measure();
    if (!bareFirst) await this.closedWindow(durationSeconds);
    return result;
  }

  /** The quality of all closed windows so far. */
  get quality(): Quality {
    return mergeQuality(...this.#qualities);
  }

  /** The closed windows as a scenario's `<scope>/paired-bare-http` figure. */
  pairedFigure(scope: string, closedSeconds: number): LoadFigure {
    return {
      id: `${scope}/paired-bare-http`,
      unit: 'req/s',
      better: 'higher',
      params: { connections: this.#connections, duration_s: closedSeconds },
      samples: [...this.rates],
      quality: this.quality,
    };
  }

  /** Process id of the bare handler's child (for its CPU from /proc). */
  get pid(): number | undefined {
    return this.#running.pid;
  }

  /** The request every window sends (URL, connections, method, headers, body). */
  request() {
    return this.#request();
  }

  #request() {
    return {
      url: `${this.#running.target.url}/v23.0/123456/messages`,
      connections: this.#connections,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer baseline' },
      body: BASELINE_BODY,
    };
  }

  stop(): Promise<void> {
    return this.#running.stop();
  }
}

/** Baseline figures for these settings, measured once per process. */
export function baselineFigures(sizes: LoadSizes, log: (line: string) => void = () => {}): Promise<BaselineFigures> {
  const key = `${sizes.connections}/${sizes.closedSeconds}/${sizes.openSeconds}/${sizes.repetitions}`;
  let figures = cache.get(key);
  if (!figures) {
    figures = measure(sizes, log);
    cache.set(key, figures);
    figures.catch(() => cache.delete(key));
  }
  return figures;
}

export async function runBaselineScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const sizes = { ...LOAD_SIZES[options.profile], ...options.sizes };
  const b = await baselineFigures(sizes, options.log);
  const params = { connections: b.connections, duration_s: b.closedSeconds };
  return {
    figures: [
      { id: 'load/baseline/bare-http/requests', unit: 'req/s', better: 'higher', params, samples: b.requestsPerSecond, quality: b.closedQuality },
      {
        id: 'load/baseline/bare-http/open-latency-p99',
        unit: 'ms',
        better: 'lower',
        params: { ...params, rate_per_s: b.openRate, duration_s: sizes.openSeconds },
        samples: b.openP99sMs,
        latency: b.openLatency,
        quality: b.openQuality,
      },
    ],
    anchors: [],
    checks: [],
    target: { url: 'bare node:http child process', started_by_harness: true },
  };
}

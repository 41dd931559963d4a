/**
 * `retention-under-load`: a large expired backlog is swept while a steady open-model load runs.
 * The backlog is made through the contract (templates to users who never read them), then the
 * server's clock moves 31 days; fresh users get a steady stream of templates at a fixed rate,
 * and a third of the way in `POST /admin/v1/retention/sweep` runs.
 *
 * Figures: throughput (completions per second) and p99 (of requests scheduled in the window)
 * before the sweep and during it. The sweep window is the sweep call's wall time, widened to at
 * least 250 ms so a fast sweep still gives a countable window. Anchor `sweep-under-load-drop`:
 * throughput during ÷ before (≥ 0.9), from the medians of the repetitions; each repetition
 * seeds its own backlog, moves the clock 31 days and sweeps once under the steady load.
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from '../load/closed-loop-driver.js';
import { runOpenLoop, type RequestSample } from '../load/open-loop-driver.js';
import { createLatencyHistogram, latencyDistribution, recordLatencyMs, type LatencyHistogram } from '../load/histogram.js';
import { mergeQuality, type Quality } from '../load/generator-guard.js';
import { loadAnchor } from '../load/anchor.js';
import { median } from '../statistics/stats.js';
import { checkCompliance } from './compliance.js';
import { ScenarioStage, type LoadFigure, type LoadScenarioOptions, type LoadScenarioResult } from './stage.js';
import type { Anchor, Check, LatencyDistribution } from '../result/result.js';
import type { LoadTimeSeries } from '../load/time-series.js';

const SCOPE = 'load/retention-under-load';
const DAY_MS = 86_400_000;
const MIN_WINDOW_MS = 250;

type SweepAnswer = { messages_deleted: number; user_ids_deleted: number; duration_ms: number };

interface WindowFigures {
  throughput: number;
  latency: LatencyDistribution;
  completed: number;
}

/**
 * Completions per second in [fromMs, toMs) and the latency of requests scheduled in it; those
 * latencies also go into `into` when given (one distribution over all repetitions).
 */
export function windowFigures(samples: readonly RequestSample[], fromMs: number, toMs: number, into?: LatencyHistogram): WindowFigures {
  const histogram = createLatencyHistogram();
  let completed = 0;
  for (const s of samples) {
    if (!s || Number.isNaN(s.latencyMs)) continue;
    const doneMs = s.scheduledMs + s.latencyMs;
    if (doneMs >= fromMs && doneMs < toMs) completed++;
    if (s.scheduledMs >= fromMs && s.scheduledMs < toMs) {
      recordLatencyMs(histogram, s.latencyMs);
      if (into) recordLatencyMs(into, s.latencyMs);
    }
  }
  const latency = latencyDistribution(histogram);
  histogram.destroy();
  return { throughput: Math.round((completed / ((toMs - fromMs) / 1000)) * 100) / 100, latency, completed };
}

export async function runRetentionUnderLoadScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const stage = await ScenarioStage.open(options);
  const log = stage.log;
  try {
    const sizes = stage.sizes;
    const spec = sizes.retention;
    const business = await stage.business({ messaging_limit: 'TIER_UNLIMITED' });
    const { url, headers } = stage.sendEndpoint(business);
    const figures: LoadFigure[] = [];
    const checks: Check[] = [];
    const anchors: Anchor[] = [];

    // One repetition = a fresh backlog made to expire, then a steady open-model window with a sweep in it.
    const befores: WindowFigures[] = [];
    const beforeAll = createLatencyHistogram();
    const duringAll = createLatencyHistogram();
    const durings: WindowFigures[] = [];
    const qualities: Quality[] = [];
    const sweeps: Array<{ seeded: number; sweepMs: number; windowMs: number; answer?: SweepAnswer; error?: unknown }> = [];
    const steadyProblems: string[] = [];
    let lastSeries: LoadTimeSeries | undefined;
    let k = 0;
    let f = 0;
    const durationSeconds = Math.max(2, sizes.openSeconds * 2);
    for (let r = 0; r < sizes.repetitions; r++) {
      // 1. Backlog: templates to users who never drain their inboxes.
      const old = await stage.users(spec.users, 1);
      const seed = await runClosedLoop({
        url,
        connections: sizes.connections,
        durationSeconds: 600,
        maxRequests: spec.backlog,
        method: 'POST',
        headers,
        requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.template(old.waIds[k++ % old.waIds.length]!, 'backlog') }) }),
      });
      seed.histogram.destroy();
      const seeded = seed.report.requests.completed - seed.report.requests.non2xx;
      log(`${SCOPE}: repetition ${r + 1}: ${seeded} backlog messages seeded at ${seed.report.requests_per_s} msgs/s`);
      const nowMs = await stage.client.advanceClock(31 * DAY_MS);
      if (nowMs === undefined) {
        checks.push({ id: `${SCOPE}/backlog-expired`, passed: false, detail: 'the server has no virtual clock (POST /admin/v1/clock 404): the backlog cannot be made to expire' });
        return { figures, anchors, checks, target: stage.targetInfo };
      }

      // 2. Steady open-model load to fresh users; the sweep starts a third of the way in.
      const fresh = await stage.users(spec.users, 1);
      let sweepStart = 0;
      let sweepEnd = 0;
      let sweepAnswer: SweepAnswer | undefined;
      let sweepError: unknown;
      const sweepTimer = setTimeout(() => {
        sweepStart = performance.now();
        stage.client
          .retentionSweep()
          .then((a) => (sweepAnswer = a))
          .catch((e) => (sweepError = e))
          .finally(() => (sweepEnd = performance.now()));
      }, Math.round((durationSeconds * 1000) / 3));
      const steady = await runOpenLoop({
        url,
        ratePerSecond: spec.ratePerSecond,
        durationSeconds,
        connections: sizes.connections,
        method: 'POST',
        headers,
        keepSamples: true,
        timeSeries: true,
        ...(stage.telemetry ? { serverTelemetry: stage.telemetry } : {}),
        requestAt: () => ({ body: JSON.stringify({ messaging_product: 'whatsapp', ...stage.template(fresh.waIds[f++ % fresh.waIds.length]!, 'steady') }) }),
      });
      lastSeries = steady.timeSeries;
      clearTimeout(sweepTimer);
      while (sweepStart !== 0 && sweepEnd === 0) await new Promise((res) => setTimeout(res, 10));
      steady.histogram.destroy();
      const t0 = steady.startedAtMs;
      const samples = steady.samples ?? [];
      const fromSweep = sweepStart - t0;
      const toSweep = Math.max(sweepEnd - t0, fromSweep + MIN_WINDOW_MS);
      const warmupMs = Math.min(200, fromSweep / 4);
      befores.push(windowFigures(samples, warmupMs, fromSweep, beforeAll));
      durings.push(windowFigures(samples, fromSweep, toSweep, duringAll));
      qualities.push(steady.report.quality);
      sweeps.push({ seeded, sweepMs: Math.round(sweepEnd - sweepStart), windowMs: Math.round(toSweep - fromSweep), ...(sweepAnswer ? { answer: sweepAnswer } : {}), ...(sweepError !== undefined ? { error: sweepError } : {}) });
      const req = steady.report.requests;
      if (req.non2xx !== 0 || req.errors !== 0) steadyProblems.push(`repetition ${r + 1}: ${req.completed}/${req.sent} completed, ${req.non2xx} non-2xx, ${req.errors} errors`);
      log(`${SCOPE}: repetition ${r + 1}: sweep ${Math.round(sweepEnd - sweepStart)} ms deleted ${sweepAnswer?.messages_deleted ?? '?'}; throughput ${befores.at(-1)!.throughput} → ${durings.at(-1)!.throughput} msgs/s`);
    }
    const quality = mergeQuality(...qualities);
    const params = {
      backlog: median(sweeps.map((x) => x.seeded)),
      rate_per_s: spec.ratePerSecond,
      sweep_ms: median(sweeps.map((x) => x.sweepMs)),
      window_ms: median(sweeps.map((x) => x.windowMs)),
    };
    figures.push({ id: `${SCOPE}/throughput/before-sweep`, unit: 'msgs/s', better: 'higher', params, samples: befores.map((w) => w.throughput), quality });
    figures.push({ id: `${SCOPE}/throughput/during-sweep`, unit: 'msgs/s', better: 'higher', params, samples: durings.map((w) => w.throughput), quality });
    figures.push({ id: `${SCOPE}/latency-p99/before-sweep`, unit: 'ms', better: 'lower', params, samples: befores.map((w) => w.latency.p99), latency: latencyDistribution(beforeAll), quality });
    // The last repetition's steady window, second by second (the sweep's seconds and the sweep totals show there).
    figures.push({ id: `${SCOPE}/latency-p99/during-sweep`, unit: 'ms', better: 'lower', params, samples: durings.map((w) => w.latency.p99), latency: latencyDistribution(duringAll), ...(lastSeries ? { time_series: lastSeries } : {}), quality });
    beforeAll.destroy();
    duringAll.destroy();
    const beforeRate = median(befores.map((w) => w.throughput));
    const duringRate = median(durings.map((w) => w.throughput));
    anchors.push(loadAnchor({ id: 'sweep-under-load-drop', ours: duringRate, theirs: beforeRate, unit: 'msgs/s', goal: { op: '>=', value: 0.9 }, inputs: [quality] }));
    log(`${SCOPE}: throughput ${beforeRate} → ${duringRate} msgs/s (medians of ${befores.length}), p99 ${median(befores.map((w) => w.latency.p99))} → ${median(durings.map((w) => w.latency.p99))} ms`);

    const unswept = sweeps.filter((x) => x.answer === undefined || x.answer.messages_deleted < x.seeded);
    checks.push({
      id: `${SCOPE}/backlog-swept`,
      passed: unswept.length === 0,
      detail: sweeps
        .map((x, i) => (x.answer ? `repetition ${i + 1}: sweep deleted ${x.answer.messages_deleted} message records (backlog ${x.seeded}) and ${x.answer.user_ids_deleted} user ids in ${x.answer.duration_ms} ms` : `repetition ${i + 1}: sweep failed: ${String(x.error)}`))
        .join('; '),
    });
    checks.push({
      id: `${SCOPE}/steady-load-served`,
      passed: steadyProblems.length === 0,
      detail: steadyProblems.length === 0 ? `${sweeps.length} steady windows, every request answered 2xx` : steadyProblems.join('; '),
    });
    checks.push(stage.signaturesCheck(SCOPE));
    checks.push(...(await checkCompliance(stage.client, { scope: SCOPE, canary: stage.canary, regional: [] })));
    return { figures, anchors, checks, target: stage.targetInfo };
  } finally {
    await stage.close();
  }
}

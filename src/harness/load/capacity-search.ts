/**
 * Capacity at a latency SLO: the highest offered rate (open model) at which a percentile of
 * latency stays within the SLO and the error rate within its bound.
 *
 * The search runs steps, each one open-model window at a fixed offered rate (runOpenLoop, latency
 * from each request's scheduled time): a warm-up whose requests are discarded, then a measured
 * part whose requests decide the step. It ramps the rate by a factor (×2 from `startRate`, or
 * ×`hintFactor` around a previous estimate) until one step passes and one fails, then bisects the
 * bracket geometrically until highest-passing × (1 + tolerance) ≥ lowest-failing, or until
 * `maxSteps`. The capacity is the highest passing rate.
 *
 * A step in which the generator itself saturated (generator guard) ends the search: its verdict
 * would say nothing about the server. The outcome is then `valid: false` with the reason. A step
 * whose dispatch lag exceeded the driver's bound keeps its verdict (the lag counts as latency,
 * so the verdict errs low) and makes the outcome not clean, with a note; so do a search that
 * ends unbracketed (the SLO held at `maxRate`, or failed at `minRate`) and one cut short by
 * `maxSteps` before its bracket narrowed to the tolerance: every note means not clean.
 *
 * Bounded: at most `maxSteps` steps (`maxSteps` + 4 while no step has passed yet) of warm-up + measured seconds each, plus each failing step's
 * request timeout and `pauseAfterFailMs` for the queue it left behind to drain.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runOpenLoop, type OpenLoopOptions } from './open-loop-driver.js';
import type { Quality } from './generator-guard.js';
import type { CapacityCurveStep } from '../result/result.js';
import { KindedError } from '../../kinded-error.js';

export type SloStat = 'p50' | 'p90' | 'p99';

/** A latency SLO, e.g. p99 ≤ 50 ms (`--slo p99=50ms`). */
export interface LatencySlo {
  stat: SloStat;
  maxMs: number;
}

export interface CapacitySearchSettings {
  slo: LatencySlo;
  /** Highest share of the measured requests that may fail (transport error, timeout, unexpected status). */
  maxErrorRate: number;
  /** First offered rate of an unhinted search, req/s. */
  startRate: number;
  /** The search never offers more than this, req/s; a pass at it reports capacity ≥ maxRate. */
  maxRate: number;
  /** Lowest rate tried when even `startRate` fails, req/s; below it the capacity is 0. */
  minRate: number;
  /** Relative width at which bisection stops (0.05 = the bracket's ends within 5 %). */
  tolerance: number;
  /** Most steps of one search. */
  maxSteps: number;
  /** Unrecorded warm-up at the step's rate, s. */
  warmUpSeconds: number;
  /** Measured part of each step, s. */
  measureSeconds: number;
  /** Ramp factor around a previous estimate (`hint`). */
  hintFactor: number;
  /** Pause after a failing step so the server drains what it queued, ms (the least wait when `settle` is given). */
  pauseAfterFailMs: number;
}

/**
 * Waits after a failing step until the server has worked off what the step queued (e.g.
 * `waitForIdleProcess` on the server child). Without it a step after an overloaded one measures
 * the previous step's backlog.
 */
export type SettleAfterFail = () => Promise<void>;

/** Defaults of one search: SLO p99 ≤ 50 ms, ≤ 1 % errors, 5 % tolerance, 1 s warm-up + 2.5 s measured per step. */
export const CAPACITY_SEARCH_DEFAULTS: Readonly<CapacitySearchSettings> = {
  slo: { stat: 'p99', maxMs: 50 },
  maxErrorRate: 0.01,
  startRate: 50,
  maxRate: 20_000,
  minRate: 5,
  tolerance: 0.05,
  maxSteps: 12,
  warmUpSeconds: 1,
  measureSeconds: 2.5,
  hintFactor: 1.25,
  pauseAfterFailMs: 1000,
};

/**
 * One step of the curve (result.ts `CapacityCurveStep`): offered rate; completed requests of the
 * measured part ÷ its length; its percentiles (null when none succeeded); failed requests
 * (transport errors, timeouts, unexpected statuses) of the requests scheduled in it.
 */
export type CapacityStep = CapacityCurveStep;

export interface CapacityOutcome {
  /** Highest passing offered rate, req/s (0 when even `minRate` failed). */
  capacity: number;
  /** Lowest failing rate above it (undefined when `maxRate` passed or the search was cut short). */
  lowestFailing?: number;
  steps: CapacityStep[];
  /** False when a step's generator saturated: the capacity then means nothing. */
  valid: boolean;
  quality: Quality;
}

/** What a step measured, before its verdict. */
export interface StepMeasurement {
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  requests: number;
  generatorSaturated: boolean;
  /** Requests answered in the whole window, warm-up included (for CPU per request). */
  windowAnswered: number;
  /** Reasons other than errors the step was not clean (e.g. dispatch lag). */
  notes: string[];
}

/** Runs one step at `rate`: warm-up then measured part. */
export type StepRunner = (rate: number, warmUpSeconds: number, measureSeconds: number) => Promise<StepMeasurement>;

export class CapacitySloError extends KindedError<'bad-slo'> {}

/** Steps beyond `maxSteps` a search may take while it has not yet seen a passing rate. */
export const BRACKET_EXTRA_STEPS = 4;

/** Parses `p99=50ms` (also `p90=0.2s`, `p50=20`) into an SLO. */
export function parseSlo(text: string): LatencySlo {
  const m = /^(p50|p90|p99)\s*[=<]=?\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)?$/.exec(text.trim());
  if (!m) throw new CapacitySloError('bad-slo', `--slo must look like p99=50ms (p50, p90 or p99; ms or s), got ${JSON.stringify(text)}`);
  const value = Number(m[2]) * (m[3] === 's' ? 1000 : 1);
  if (!(value > 0)) throw new CapacitySloError('bad-slo', `--slo needs a positive latency, got ${JSON.stringify(text)}`);
  return { stat: m[1] as SloStat, maxMs: value };
}

/** Benchmark-id form of an SLO: `p99-50ms`. */
export function sloLabel(slo: LatencySlo): string {
  return `${slo.stat}-${String(slo.maxMs).replace('.', '_')}ms`;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Percentile (nearest rank) of ascending values; NaN for none. */
function percentileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * A step runner on the open-model driver: one runOpenLoop of warm-up + measured seconds with
 * per-request samples; only requests scheduled after the warm-up count. Requests time out after
 * `timeoutMs` (default max(1 s, 20 × SLO)), so an overloaded step ends soon after its schedule.
 */
export function openLoopStepRunner(base: Omit<OpenLoopOptions, 'ratePerSecond' | 'durationSeconds' | 'keepSamples'>, slo: LatencySlo): StepRunner {
  return async (rate, warmUpSeconds, measureSeconds) => {
    const run = await runOpenLoop({ timeoutMs: Math.max(1000, 20 * slo.maxMs), ...base, ratePerSecond: rate, durationSeconds: warmUpSeconds + measureSeconds, keepSamples: true });
    run.histogram.destroy();
    const expect = base.expectStatus ?? ((s: number) => s >= 200 && s < 300);
    const fromMs = warmUpSeconds * 1000;
    const measured = (run.samples ?? []).filter((s) => s !== undefined && s.scheduledMs >= fromMs);
    const latencies = measured.filter((s) => Number.isFinite(s.latencyMs) && expect(s.status)).map((s) => s.latencyMs);
    latencies.sort((a, b) => a - b);
    const completed = measured.filter((s) => Number.isFinite(s.latencyMs)).length;
    const notes = run.report.quality.notes.filter((n) => n.startsWith('generator behind schedule'));
    return {
      achievedRate: round2(completed / measureSeconds),
      p50: round2(percentileOf(latencies, 0.5)),
      p90: round2(percentileOf(latencies, 0.9)),
      p99: round2(percentileOf(latencies, 0.99)),
      errors: measured.length - latencies.length,
      requests: measured.length,
      generatorSaturated: run.report.generator.saturated,
      windowAnswered: run.report.requests.completed,
      notes,
    };
  };
}

/** Whether a step meets the SLO and the error bound. */
export function stepPasses(m: StepMeasurement, settings: Pick<CapacitySearchSettings, 'slo' | 'maxErrorRate'>): boolean {
  if (m.requests === 0) return false;
  const latency = m[settings.slo.stat];
  return m.errors / m.requests <= settings.maxErrorRate && Number.isFinite(latency) && latency <= settings.slo.maxMs;
}

/**
 * One capacity search. `hint`: a previous estimate; the search then starts there and ramps by
 * `hintFactor` instead of doubling from `startRate` (fewer steps, same verdict rule).
 */
export async function findCapacity(
  step: StepRunner,
  options: Partial<CapacitySearchSettings> & { hint?: number; repetition?: number; settle?: SettleAfterFail; log?: (line: string) => void } = {},
): Promise<CapacityOutcome> {
  const s: CapacitySearchSettings = { ...CAPACITY_SEARCH_DEFAULTS, ...options };
  const repetition = options.repetition ?? 0;
  const log = options.log ?? (() => {});
  const steps: CapacityStep[] = [];
  const notes = new Set<string>();
  let lo: number | undefined;
  let hi: number | undefined;
  const take = async (rate: number): Promise<boolean | undefined> => {
    rate = Math.max(1, Math.round(rate));
    const m = await step(rate, s.warmUpSeconds, s.measureSeconds);
    const passed = stepPasses(m, s);
    const ms = (x: number): number | null => (Number.isFinite(x) ? x : null);
    steps.push({ repetition, offered_rate_per_s: rate, achieved_rate_per_s: m.achievedRate, p50_ms: ms(m.p50), p90_ms: ms(m.p90), p99_ms: ms(m.p99), errors: m.errors, requests: m.requests, passed });
    log(`capacity: ${rate} req/s offered → ${m.achievedRate} achieved, p50 ${m.p50} p90 ${m.p90} p99 ${m.p99} ms, ${m.errors}/${m.requests} errors: ${passed ? 'pass' : 'fail'}`);
    for (const n of m.notes) notes.add(`step at ${rate} req/s: ${n}`);
    if (m.generatorSaturated) {
      notes.add(`generator saturated in the step at ${rate} req/s: the search is invalid (the generator, not the server, was the limit)`);
      return undefined;
    }
    if (passed) lo = Math.max(lo ?? 0, rate);
    else {
      hi = Math.min(hi ?? Infinity, rate);
      await sleep(s.pauseAfterFailMs);
      await options.settle?.();
    }
    return passed;
  };
  const finish = (valid: boolean): CapacityOutcome => ({
    capacity: lo ?? 0,
    ...(hi !== undefined ? { lowestFailing: hi } : {}),
    steps,
    valid,
    quality: { clean: valid && notes.size === 0, notes: [...notes] },
  });

  const up = options.hint !== undefined ? s.hintFactor : 2;
  let rate = Math.min(s.maxRate, Math.max(s.minRate, options.hint ?? s.startRate));
  // Bracket: ramp up while passing, down while failing. A search that has not passed yet gets
  // up to BRACKET_EXTRA_STEPS more steps to find a passing rate (a hint above the capacity).
  while ((steps.length < s.maxSteps || (lo === undefined && steps.length < s.maxSteps + BRACKET_EXTRA_STEPS)) && (lo === undefined || hi === undefined)) {
    const passed = await take(rate);
    if (passed === undefined) return finish(false);
    if (lo !== undefined && hi !== undefined) break;
    if (passed) {
      if (rate >= s.maxRate) {
        notes.add(`the SLO held at the highest rate tried (${s.maxRate} req/s): the capacity is at least that`);
        return finish(true);
      }
      rate = Math.min(s.maxRate, rate * up);
    } else {
      if (rate <= s.minRate) {
        notes.add(`the SLO failed even at ${s.minRate} req/s`);
        return finish(true);
      }
      rate = Math.max(s.minRate, rate / up);
    }
  }
  // Bisect geometrically.
  while (steps.length < s.maxSteps && lo !== undefined && hi !== undefined && hi > lo * (1 + s.tolerance)) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    const passed = await take(mid);
    if (passed === undefined) return finish(false);
  }
  if (lo === undefined || hi === undefined || hi > lo * (1 + s.tolerance)) notes.add(`the search stopped after ${s.maxSteps} steps, before the bracket narrowed to ${Math.round(s.tolerance * 100)} %`);
  return finish(true);
}

/** What a capacity measurement looks for: the latency SLO and the error bound. */
export interface CapacityOptions {
  slo: LatencySlo;
  maxErrorRate: number;
}

export const DEFAULT_CAPACITY_OPTIONS: Readonly<CapacityOptions> = { slo: { stat: 'p99', maxMs: 50 }, maxErrorRate: 0.01 };

/**
 * Arrival schedules for the open-model driver: when request j is due, as a pure function of j.
 *
 * A schedule is a piecewise-linear arrival rate r(t) (stages, as k6's ramping-arrival-rate: each
 * stage moves the rate linearly from the previous stage's target to its own over its duration; a
 * stage of 0 s is an instant step) and an arrival process:
 *
 * - `constant`: request j is due when the expected number of arrivals Λ(t) = ∫₀ᵗ r reaches j, so
 *   at a fixed rate R request j is due at j/R (the driver's original schedule).
 * - `poisson`: a Poisson process of intensity r(t): request j is due at Λ⁻¹(E₀ + … + E_j), with
 *   E_i independent exponential(1) variables drawn from a counter-based generator keyed by the
 *   seed, so the same seed gives the same schedule on every run and machine.
 *
 * `offsetMs(j)` is all a consumer needs (the driver, or a shard that owns requests j ≡ k mod N
 * and sends each at T0 + offsetMs(j)). Bounded: at most `MAX_SCHEDULE_SECONDS` (30 min, the soak
 * limit) and `MAX_SCHEDULED_REQUESTS`.
 */
import { KindedError } from '../../kinded-error.js';

export type ScheduleErrorKind = 'invalid-stage' | 'invalid-shape' | 'too-long' | 'too-many-requests' | 'no-request';

export class ScheduleError extends KindedError<ScheduleErrorKind> {}

/** Total length of any schedule (a soak included), seconds. */
export const MAX_SCHEDULE_SECONDS = 30 * 60;
/** Requests in any schedule. */
export const MAX_SCHEDULED_REQUESTS = 10_000_000;

export type Arrivals = 'constant' | 'poisson';
export type Shape = 'constant' | 'ramp' | 'step' | 'spike' | 'soak';
export const SHAPES: readonly Shape[] = ['constant', 'ramp', 'step', 'spike', 'soak'];

/** One stage: the rate moves linearly to `targetRate` (req/s) over `durationSeconds` (0: at once). */
export interface RateStage {
  durationSeconds: number;
  targetRate: number;
}

export interface ScheduleSpec {
  stages: readonly RateStage[];
  /** Rate at t = 0, req/s. Default 0 (k6's startRate). */
  startRate?: number;
  /** Default 'constant'. */
  arrivals?: Arrivals;
  /** Seed of the Poisson arrivals. Default 1. */
  seed?: number;
}

export interface ArrivalSchedule {
  /** Requests in the schedule. */
  readonly count: number;
  /** Length of the schedule, ms (the last request is due before it). */
  readonly durationMs: number;
  /** Due time of request j (0 ≤ j < count), ms after the run's start; non-decreasing in j. */
  offsetMs(j: number): number;
  /** What built it, for result params and the JSON. */
  readonly spec: Required<ScheduleSpec>;
}

/** Spike shape: the rate during the spike, as a multiple of the base rate. */
export const SPIKE_FACTOR = 4;

/**
 * The stages of a named shape around `rate` over `durationSeconds`:
 * constant/soak R throughout; ramp 0 → R; step R/4, R/2, 3R/4, R for a quarter each;
 * spike R, then SPIKE_FACTOR·R for the middle fifth, then R.
 */
export function shapeSpec(shape: Shape, rate: number, durationSeconds: number): { startRate: number; stages: RateStage[] } {
  const d = durationSeconds;
  switch (shape) {
    case 'constant':
    case 'soak':
      return { startRate: rate, stages: [{ durationSeconds: d, targetRate: rate }] };
    case 'ramp':
      return { startRate: 0, stages: [{ durationSeconds: d, targetRate: rate }] };
    case 'step': {
      const stages: RateStage[] = [];
      for (let k = 1; k <= 4; k++) stages.push({ durationSeconds: 0, targetRate: (rate * k) / 4 }, { durationSeconds: d / 4, targetRate: (rate * k) / 4 });
      return { startRate: rate / 4, stages };
    }
    case 'spike': {
      const spike = rate * SPIKE_FACTOR;
      return {
        startRate: rate,
        stages: [
          { durationSeconds: 0.4 * d, targetRate: rate },
          { durationSeconds: 0, targetRate: spike },
          { durationSeconds: 0.2 * d, targetRate: spike },
          { durationSeconds: 0, targetRate: rate },
          { durationSeconds: 0.4 * d, targetRate: rate },
        ],
      };
    }
    default:
      throw new ScheduleError('invalid-shape', `unknown shape ${JSON.stringify(shape)}; known: ${SHAPES.join(', ')}`);
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;

/** Parses `--stages 10s:100,30s:100,5s:400,10s:0` (duration with ms/s/m, default s; target rate req/s). */
export function parseStages(text: string): RateStage[] {
  const stages = text.split(',').map((part) => {
    const [duration, rate, ...rest] = part.trim().split(':');
    const m = DURATION.exec(duration ?? '');
    const target = Number(rate);
    if (!m || rest.length > 0 || rate === undefined || rate.trim() === '' || !Number.isFinite(target) || target < 0) {
      throw new ScheduleError('invalid-stage', `bad stage ${JSON.stringify(part)}: expected <duration>[ms|s|m]:<rate>, e.g. 30s:200`);
    }
    const scale = m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1;
    return { durationSeconds: Number(m[1]) * scale, targetRate: target };
  });
  return stages;
}

/** A stage as a segment of Λ: from `atS` for `durationS`, rate r0 → r1, Λ(atS) = `before`. */
interface Segment {
  atS: number;
  durationS: number;
  r0: number;
  r1: number;
  before: number;
  area: number;
}

function segmentsOf(startRate: number, stages: readonly RateStage[]): Segment[] {
  const segments: Segment[] = [];
  let at = 0;
  let before = 0;
  let rate = startRate;
  for (const stage of stages) {
    const area = ((rate + stage.targetRate) / 2) * stage.durationSeconds;
    if (stage.durationSeconds > 0) segments.push({ atS: at, durationS: stage.durationSeconds, r0: rate, r1: stage.targetRate, before, area });
    at += stage.durationSeconds;
    before += area;
    rate = stage.targetRate;
  }
  return segments;
}

/** t (s) with Λ(t) = x, for 0 ≤ x ≤ Λ(end); within a segment Λ is r0·τ + (r1 − r0)·τ²/(2D). */
function inverseCumulative(segments: readonly Segment[], x: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.before <= x) lo = mid;
    else hi = mid - 1;
  }
  const s = segments[lo]!;
  const y = Math.min(Math.max(0, x - s.before), s.area);
  const a = (s.r1 - s.r0) / (2 * s.durationS);
  const b = s.r0;
  // a·τ² + b·τ = y, the root in [0, D], in the form that is stable for a → 0 and either sign of a.
  const denominator = b + Math.sqrt(Math.max(0, b * b + 4 * a * y));
  const tau = denominator > 0 ? (2 * y) / denominator : 0;
  return s.atS + Math.min(tau, s.durationS);
}

/** splitmix32 of (seed, j): a uniform in (0, 1), a pure function of both. */
function uniformAt(seed: number, j: number): number {
  let z = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(j + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  return ((z >>> 0) + 0.5) / 4294967296;
}

function validate(spec: ScheduleSpec): Required<ScheduleSpec> {
  const startRate = spec.startRate ?? 0;
  const arrivals = spec.arrivals ?? 'constant';
  const seed = spec.seed ?? 1;
  if (spec.stages.length === 0) throw new ScheduleError('invalid-stage', 'a schedule needs at least one stage');
  if (!(startRate >= 0) || !Number.isFinite(startRate)) throw new ScheduleError('invalid-stage', `start rate must be ≥ 0, got ${startRate}`);
  for (const s of spec.stages) {
    if (!(s.durationSeconds >= 0) || !Number.isFinite(s.durationSeconds)) throw new ScheduleError('invalid-stage', `stage duration must be ≥ 0 s, got ${s.durationSeconds}`);
    if (!(s.targetRate >= 0) || !Number.isFinite(s.targetRate)) throw new ScheduleError('invalid-stage', `stage rate must be ≥ 0, got ${s.targetRate}`);
  }
  if (arrivals !== 'constant' && arrivals !== 'poisson') throw new ScheduleError('invalid-shape', `arrivals must be constant or poisson, got ${JSON.stringify(arrivals)}`);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new ScheduleError('invalid-shape', `seed must be an integer in [0, 2^32), got ${seed}`);
  const total = spec.stages.reduce((sum, s) => sum + s.durationSeconds, 0);
  if (total > MAX_SCHEDULE_SECONDS) throw new ScheduleError('too-long', `the schedule lasts ${total} s; at most ${MAX_SCHEDULE_SECONDS} s (a soak is bounded to 30 min)`);
  if (!(total > 0)) throw new ScheduleError('invalid-stage', 'the schedule lasts 0 s');
  return { stages: spec.stages.map((s) => ({ ...s })), startRate, arrivals, seed };
}

/** Builds the schedule (throws ScheduleError on bad input). */
export function buildSchedule(input: ScheduleSpec): ArrivalSchedule {
  const spec = validate(input);
  const segments = segmentsOf(spec.startRate, spec.stages);
  const last = segments[segments.length - 1];
  const expected = last ? last.before + last.area : 0;
  const durationS = spec.stages.reduce((sum, s) => sum + s.durationSeconds, 0);
  const durationMs = durationS * 1000;
  if (expected > MAX_SCHEDULED_REQUESTS * 1.1) throw new ScheduleError('too-many-requests', `the schedule has about ${Math.round(expected)} requests; at most ${MAX_SCHEDULED_REQUESTS}`);
  if (spec.arrivals === 'constant') {
    // ⌊Λ(T)⌋ requests (j = 0 … at Λ⁻¹(j)); the tolerance keeps e.g. 250 req/s × 4 s at exactly 1000.
    const count = Math.min(MAX_SCHEDULED_REQUESTS, Math.floor(expected + 1e-9));
    if (count < 1) throw new ScheduleError('no-request', 'rate × duration gives no request');
    // Λ⁻¹(j) for j ≥ Λ(T) − 1e-9 would clamp to T; the last request is therefore due before T.
    return { count, durationMs, spec, offsetMs: (j) => Math.min(inverseCumulative(segments, j) * 1000, durationMs) };
  }
  const offsets: number[] = [];
  let sum = 0;
  for (let j = 0; ; j++) {
    sum += -Math.log(uniformAt(spec.seed, j));
    if (sum >= expected) break;
    if (offsets.length >= MAX_SCHEDULED_REQUESTS) throw new ScheduleError('too-many-requests', `the schedule has more than ${MAX_SCHEDULED_REQUESTS} requests`);
    offsets.push(inverseCumulative(segments, sum) * 1000);
  }
  if (offsets.length < 1) throw new ScheduleError('no-request', 'the Poisson draw gave no request in the schedule; raise rate or duration');
  const table = Float64Array.from(offsets);
  return { count: table.length, durationMs, spec, offsetMs: (j) => table[j]! };
}

/** A constant rate for a duration: the driver's schedule when it is given only `ratePerSecond` and `durationSeconds`. */
export function constantSchedule(ratePerSecond: number, durationSeconds: number): ArrivalSchedule {
  return buildSchedule({ startRate: ratePerSecond, stages: [{ durationSeconds, targetRate: ratePerSecond }] });
}

/** Expected arrivals between 0 and `tS` seconds (Λ(t)), for tests and reports. */
export function expectedArrivals(spec: ScheduleSpec, tS: number): number {
  const segments = segmentsOf(spec.startRate ?? 0, spec.stages);
  let total = 0;
  for (const s of segments) {
    if (tS <= s.atS) break;
    const tau = Math.min(tS - s.atS, s.durationS);
    total += s.r0 * tau + ((s.r1 - s.r0) / (2 * s.durationS)) * tau * tau;
  }
  return total;
}

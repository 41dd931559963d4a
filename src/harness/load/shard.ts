/**
 * Shards: N load generators that together reproduce one generator's run (k6's execution
 * segments, the equal-segment case of striping; /work/shared/reference/scale-out.md).
 *
 * - Request j of the run's schedule belongs to shard j mod N and is sent at T0 + offsetMs(j): the
 *   shards' schedules are disjoint and their union is the single run's schedule, so latency
 *   measured from the scheduled time stays defined across shards.
 * - Entities (users, devices, businesses) are partitioned by the same rule: entity k belongs to
 *   shard k mod N and keeps the identifier derived from its global index k, so shards never
 *   collide and their union is the single run's population.
 * - T0 is `--start-at` (epoch ms), one instant every shard is told, with no coordinator; without
 *   it a generator starts at once. Clock skew between hosts bounds how well the shards' starts line up.
 *
 * This module is the one place the rule lives; the driver and the scenarios ask it.
 */
import { KindedError } from '../../kinded-error.js';
import type { ArrivalSchedule } from './schedule.js';

export type ShardErrorKind = 'invalid-shard' | 'invalid-start' | 'start-passed';

export class ShardError extends KindedError<ShardErrorKind> {}

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The whole run as one shard (what a generator without `--shard` is). */
export const WHOLE_RUN: Shard = { index: 0, count: 1 };

/** Shards of one run, at most (a bound on the flag, not a recommendation). */
export const MAX_SHARDS = 10_000;

/** How far ahead `--start-at` may lie (a run is bounded in time, its wait included). */
export const MAX_START_DELAY_MS = 60 * 60 * 1000;

/** What a shard's result JSON records about it (`shard` field). */
export interface ShardRecord {
  index: number;
  count: number;
  /** T0 of the run, epoch ms (the `--start-at` given, or when this generator started). */
  start_at_ms: number;
}

/** Parses `I/N` (0 ≤ I < N; Kubernetes' JOB_COMPLETION_INDEX is I unchanged). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ShardError('invalid-shard', `--shard must be I/N with 0 ≤ I < N (0-based, e.g. 0/2), got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!(count >= 1) || count > MAX_SHARDS) throw new ShardError('invalid-shard', `--shard ${text}: N must be 1..${MAX_SHARDS}`);
  if (index >= count) throw new ShardError('invalid-shard', `--shard ${text}: I must be below N (I is 0-based)`);
  return { index, count };
}

/** Whether global index `k` (a request or an entity) belongs to the shard. */
export function owns(shard: Shard, k: number): boolean {
  return k % shard.count === shard.index;
}

/** How many of the global indices 0 … total−1 the shard owns. */
export function ownedCount(shard: Shard, total: number): number {
  return total <= shard.index ? 0 : Math.floor((total - 1 - shard.index) / shard.count) + 1;
}

/** The global index of the shard's `local`-th owned index (0-based). */
export function globalIndex(shard: Shard, local: number): number {
  return shard.index + local * shard.count;
}

/** The shard's global indices among 0 … total−1, ascending. */
export function ownedIndices(shard: Shard, total: number): number[] {
  const out = new Array<number>(ownedCount(shard, total));
  for (let local = 0; local < out.length; local++) out[local] = globalIndex(shard, local);
  return out;
}

/** A shard's part of a schedule: its `count` requests, the k-th being the run's request `globalIndex(k)`. */
export interface ShardSchedule {
  readonly count: number;
  globalIndex(local: number): number;
  /** Due time of the shard's k-th request, ms after T0 (the run's offsetMs of its global index). */
  offsetMs(local: number): number;
}

/** The shard's requests among the first `total` of `schedule` (what the driver sends). */
export function shardSchedule(schedule: Pick<ArrivalSchedule, 'offsetMs'>, total: number, shard: Shard): ShardSchedule {
  return {
    count: ownedCount(shard, total),
    globalIndex: (local) => globalIndex(shard, local),
    offsetMs: (local) => schedule.offsetMs(globalIndex(shard, local)),
  };
}

/** Parses `--start-at <epoch ms>` (an integer number of ms since 1970). */
export function parseStartAt(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value <= 0) throw new ShardError('invalid-start', `--start-at must be epoch milliseconds (e.g. $(($(date +%s%3N) + 5000))), got ${JSON.stringify(text)}`);
  return value;
}

/** Where a generator stands against its start instant. */
export interface StartInstant {
  /** T0, epoch ms. */
  atMs: number;
  /** ms by which T0 had already passed when the generator was ready (0 when it was on time). */
  lateByMs: number;
}

/**
 * The start instant of a run of `durationMs`, judged at `nowMs`: a start in the past by less than
 * the schedule's length starts at once (requests already due are sent immediately, with their
 * latency counted from their due time, and the result is not clean); by more, nothing of the
 * schedule is left, so it is refused.
 */
export function startInstant(startAtMs: number, durationMs: number, nowMs: number): StartInstant {
  if (startAtMs - nowMs > MAX_START_DELAY_MS) {
    throw new ShardError('invalid-start', `--start-at ${startAtMs} is ${Math.round((startAtMs - nowMs) / 1000)} s ahead; at most ${MAX_START_DELAY_MS / 1000} s`);
  }
  const lateByMs = Math.max(0, nowMs - startAtMs);
  if (lateByMs > durationMs) {
    throw new ShardError('start-passed', `--start-at ${startAtMs} passed ${lateByMs} ms ago, more than the schedule's ${durationMs} ms; give a start in the future`);
  }
  return { atMs: startAtMs, lateByMs };
}

/** The quality note of a shard that started after its start instant. */
export function lateStartNote(lateByMs: number): string {
  return `started ${Math.round(lateByMs)} ms after --start-at: requests already due were sent late`;
}

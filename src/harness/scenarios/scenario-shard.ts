/**
 * A load scenario as one shard of a run spread over N generators that never talk to each other
 * (`npm run load -- --scenario <name> --target <url> --shard I/N --start-at <T0> (--rate r
 * --duration s | load shape) --out shard-I.json`; docs/load.md "Sharded scenarios").
 *
 * What every sharded scenario shares:
 * - its population is partitioned by load/shard.ts's rule: entity k (a user, a device) belongs
 *   to shard k mod N, and the run's count of them is rounded up to a multiple of N
 *   (`shardedCount`), so that request j's entity, j mod count, belongs to request j's shard;
 * - entities are named from a run prefix derived from T0 (`runPrefixFor`), which every shard is
 *   given, so shards name one population without a coordinator;
 * - business i belongs to shard i: a run has one per shard (a scenario's single business cannot
 *   be split without handing its token to every shard);
 * - each shard prepares its part, then sends its requests of the schedule from T0
 *   (`sendShardPart`), then checks its part; its file is a `--url` shard's load result file
 *   (load/load-result-file.ts) plus the scenario's name, checks and population, and the files of
 *   a run add up exactly in `npm run merge`.
 */
import { runOpenLoop, type OpenLoopOptions } from '../load/open-loop-driver.js';
import { latencyDistribution } from '../load/histogram.js';
import { errorsByCode, type LoadResultFile } from '../load/load-result-file.js';
import type { Shard } from '../load/shard.js';
import type { ArrivalSchedule } from '../load/schedule.js';
import type { ExternalTarget } from '../load/target.js';
import { captureEnvironment } from '../result/environment.js';
import type { Check } from '../result/result.js';
import { ScenarioStage, type LoadScenarioOptions } from './stage.js';
import { KindedError } from '../../kinded-error.js';

export type ScenarioShardErrorKind = 'needs-target';

export class ScenarioShardError extends KindedError<ScenarioShardErrorKind> {}

export interface ScenarioShardOptions extends LoadScenarioOptions {
  /** The one server every shard drives (a load balancer in front of several processes, say). */
  target: ExternalTarget;
  shard: Shard;
  /** T0, epoch ms: the same instant on every shard. */
  startAtEpochMs: number;
  /** The run's schedule of the measured phase (every shard is given the same). */
  schedule: ArrivalSchedule;
  /** Keep-alive sockets of this shard's open-model phase. @default the profile's connections */
  connections?: number;
  /** Send load to a target that is not on loopback (`--allow-remote`). @default false */
  allowRemote?: boolean;
}

/** A shard's part of the population, as its file records it. */
export interface ShardPopulation {
  /** Entities (users or devices) of the whole run. */
  entities: number;
  /** Of which this shard's. */
  shard_entities: number;
  devices_per_user: number;
  run_prefix: number;
}

/** A shard's result file: a load result file with the scenario's name, its checks and its part of the population. */
export interface ScenarioShardFile extends LoadResultFile {
  scenario: string;
  checks: Check[];
  population: ShardPopulation;
}

/**
 * The run's count of entities for `count` shards: the profile's, rounded up to a multiple of the
 * shard count so that request j's entity (j mod the count) belongs to request j's shard.
 */
export function shardedCount(planned: number, count: number): number {
  return Math.ceil(Math.max(planned, 1) / count) * count;
}

/** The run prefix of every wa_id and business number of a run starting at T0 (7 digits, the same on every shard; it repeats only every 9·10^6 s). */
export function runPrefixFor(startAtEpochMs: number): number {
  return 1_000_000 + (Math.floor(startAtEpochMs / 1000) % 9_000_000);
}

/** The stage of a shard: the `--target` (required), entities named from T0. */
export function openShardStage(options: ScenarioShardOptions): Promise<ScenarioStage> {
  if (!options.target) throw new ScenarioShardError('needs-target', 'a sharded scenario needs --target: every shard must drive the same server');
  return ScenarioStage.open(options, {}, { runPrefix: runPrefixFor(options.startAtEpochMs) });
}

/** The request side of a shard's measured phase. */
export type ShardRequests = Pick<OpenLoopOptions, 'url' | 'method' | 'headers' | 'requestAt' | 'onResponse' | 'workerThreads'>;

/**
 * Sends the shard's requests of the run's schedule from T0 (waiting for it; a shard still
 * preparing at T0 starts late and is not clean) and returns its load result file, environment
 * included; the scenario adds its name, checks and population.
 */
export async function sendShardPart(stage: ScenarioStage, options: ScenarioShardOptions, scope: string, requests: ShardRequests): Promise<LoadResultFile> {
  const { shard } = options;
  const waitS = Math.round((options.startAtEpochMs - Date.now()) / 100) / 10;
  stage.log(`${scope} shard ${shard.index}/${shard.count}: prepared; ${waitS >= 0 ? `starting in ${waitS} s` : `${-waitS} s after --start-at (late: the figure will not be clean)`}`);
  const run = await runOpenLoop({
    ...requests,
    schedule: options.schedule,
    shard,
    startAtEpochMs: options.startAtEpochMs,
    connections: options.connections ?? stage.sizes.connections,
    allowRemote: options.allowRemote ?? false,
    timeSeries: true,
  });
  const latency = latencyDistribution(run.histogram);
  run.histogram.destroy();
  return {
    ...run.report,
    errors_by_code: errorsByCode(run.timeSeries),
    latency,
    ...(run.timeSeries ? { time_series: run.timeSeries } : {}),
    environment: await captureEnvironment({ backends: [options.backend ?? 'node'] }),
  };
}

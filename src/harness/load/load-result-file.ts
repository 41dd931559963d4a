/**
 * The result file of one `npm run load -- --url … --out <file>` run (one generator, or one shard
 * of a sharded run), and of `npm run merge` over several of them:
 *
 * - the `--json` report (open-loop-driver.ts OpenLoopReport: latency_ms, requests, rates,
 *   dispatch lag, generator, quality, schedule, and `shard` {index, count, start_at_ms} when sharded);
 * - `latency`: the percentiles with the whole HDR histogram (compressed base64), so files merge exactly;
 * - `errors_by_code`: failed requests by Graph error code (time-series.ts errorKey);
 * - `time_series`: per-second intervals, each with its own histogram;
 * - `environment`: the generator's machine and code (result/environment.ts);
 * - a sharded scenario's shard adds `scenario`, its `checks` and its `population`.
 *
 * A merged file has the same fields except `shard` and `environment`, and adds `shards` (every
 * part's ShardRecord), `environments` and `generators` (one per shard, in shard order) and `merged_from`.
 */
import { readFileSync } from 'node:fs';
import type { Check, Environment, LatencyDistribution, LoadTimeSeries } from '../result/result.js';
import type { GeneratorUsage } from './generator-guard.js';
import type { OpenLoopReport } from './open-loop-driver.js';
import type { ShardRecord } from './shard.js';
import { KindedError } from '../../kinded-error.js';

export type LoadResultFileErrorKind = 'unreadable' | 'invalid-json' | 'not-a-load-result';

export class LoadResultFileError extends KindedError<LoadResultFileErrorKind> {}

export interface LoadResultFile extends OpenLoopReport {
  latency: LatencyDistribution;
  errors_by_code: Record<string, number>;
  time_series?: LoadTimeSeries;
  environment?: Environment;
  /** A sharded scenario's file (scenarios/scenario-shard.ts): the scenario's name and its checks. */
  scenario?: string;
  checks?: Check[];
  /** Merged files only: each part's shard, generator and environment, in shard order. */
  shards?: ShardRecord[];
  generators?: GeneratorUsage[];
  environments?: Environment[];
  merged_from?: string[];
}

/** Failed requests by error key, summed over a run's intervals. */
export function errorsByCode(series: LoadTimeSeries | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const interval of series?.intervals ?? []) {
    for (const [key, n] of Object.entries(interval.errors)) out[key] = (out[key] ?? 0) + n;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** The `--json` form of a file: the report without the histogram, the series' histograms or the environments. */
export function loadReportOf(file: LoadResultFile): OpenLoopReport & { errors_by_code: Record<string, number>; shards?: ShardRecord[] } {
  const { latency: _latency, time_series: _series, environment: _environment, environments: _environments, generators: _generators, merged_from: _from, ...report } = file;
  return report;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Reads a load result file; throws LoadResultFileError naming the file and what is wrong with it. */
export function readLoadResultFile(path: string): LoadResultFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LoadResultFileError('unreadable', `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LoadResultFileError('invalid-json', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  const missing = (what: string): LoadResultFileError => new LoadResultFileError('not-a-load-result', `${path} is not a load result file of npm run load -- --url … --out (${what})`);
  if (!isObject(value)) throw missing('not an object');
  if (!isObject(value['latency']) || typeof value['latency']['hdr_base64'] !== 'string') throw missing('no latency.hdr_base64 histogram');
  const requests = value['requests'];
  if (!isObject(requests) || !['sent', 'completed', 'errors', 'timeouts', 'non2xx'].every((k) => typeof requests[k] === 'number')) throw missing('no requests counts');
  if (!isObject(value['schedule']) || !Array.isArray(value['schedule']['stages'])) throw missing('no schedule');
  if (!isObject(value['quality']) || typeof value['quality']['clean'] !== 'boolean') throw missing('no quality');
  if (!isObject(value['generator']) || !isObject(value['dispatch_lag_ms'])) throw missing('no generator usage or dispatch lag');
  if (value['shard'] !== undefined) {
    const s = value['shard'];
    if (!isObject(s) || !Number.isInteger(s['index']) || !Number.isInteger(s['count']) || typeof s['start_at_ms'] !== 'number') throw missing('shard is not {index, count, start_at_ms}');
  }
  if (value['shards'] !== undefined) throw missing('it is already a merged file; merge the shards themselves');
  if (value['errors_by_code'] !== undefined && !isObject(value['errors_by_code'])) throw missing('errors_by_code is not an object');
  if (value['scenario'] !== undefined && typeof value['scenario'] !== 'string') throw missing('scenario is not a name');
  const checks = value['checks'];
  if (checks !== undefined && !(Array.isArray(checks) && checks.every((c) => isObject(c) && typeof c['id'] === 'string' && typeof c['passed'] === 'boolean' && typeof c['detail'] === 'string'))) {
    throw missing('checks is not a list of {id, passed, detail}');
  }
  const file = value as unknown as LoadResultFile;
  file.errors_by_code ??= {};
  return file;
}

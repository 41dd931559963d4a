#!/usr/bin/env node
/**
 * `npm run merge -- <shard files…> [--json] [--out <file>] [--thresholds <t.json>]`
 *
 * Merges the result files of the N shards of one `npm run load -- --url … --shard I/N
 * --start-at <ms> --out <file>` run (or of one sharded `--scenario mass-messaging` run) into the whole run's result (src/harness/load/shard-merge.ts):
 * histograms added exactly, counts and errors by code summed, every shard's environment kept,
 * not clean when any shard was. `--json` prints the shape `npm run load -- --json` prints;
 * `--out` writes the merged result file (histograms included); `--thresholds` evaluates a
 * thresholds file (docs/bench.md#thresholds) on the merged figures (load/open-loop/latency-p99,
 * load/open-loop/completed-rate, load/open-loop/accepted-rate, load/open-loop/error-rate).
 *
 * A sharded scenario's merged file also lists every shard's checks.
 *
 * Exit status: 0 merged (and thresholds held); 1 a sharded scenario's check failed in a shard; 2 bad input (unreadable, not a shard file, not
 * the shards of one run, a shard missing or given twice, a bad thresholds file); 3 a threshold
 * failed on the merged result.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitCodeForCliError, UsageError } from '../src/harness/cli-errors.js';
import { loadReportOf, readLoadResultFile, LoadResultFileError } from '../src/harness/load/load-result-file.js';
import { loadFigures, mergeShardResults, ShardMergeError } from '../src/harness/load/shard-merge.js';
import { evaluateThresholds, formatThresholds, readThresholdsFile, thresholdsHold, ThresholdsError, THRESHOLDS_FAILED_EXIT } from '../src/harness/result/thresholds.js';

const USAGE = `usage: npm run merge -- <shard.json>… [--json] [--out <merged.json>] [--thresholds <thresholds.json>]
  Merges the --out files of the shards of one npm run load -- --url … --shard I/N --start-at <ms> run.
  --json        print the merged result as npm run load -- --json prints one run
  --out f       write the merged result file (histograms and time series included)
  --thresholds  evaluate a thresholds file on the merged figures:
                load/open-loop/latency-p99 (stat p50…p999, latency_max), load/open-loop/completed-rate, load/open-loop/accepted-rate, load/open-loop/error-rate
exit status: 0 ok; 1 a sharded scenario's check failed in a shard; 2 bad input (unreadable or mismatched files, a shard missing or twice); 3 a threshold failed on the merged result`;

/** Exit status when a shard of a sharded scenario reported a failed check (as npm run load's). */
const CHECK_FAILED_EXIT = 1;

function main(): number {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: { json: { type: 'boolean' }, out: { type: 'string' }, thresholds: { type: 'string' }, help: { type: 'boolean' } },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('no shard files given');
    const thresholds = values.thresholds ? readThresholdsFile(values.thresholds) : undefined;
    const parts = positionals.map((path) => ({ path, file: readLoadResultFile(path) }));
    const merged = mergeShardResults(parts);
    if (values.out) writeFileSync(values.out, `${JSON.stringify(merged, null, 2)}\n`);
    const report = loadReportOf(merged);
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      const l = report.latency_ms;
      const r = report.requests;
      console.log(`merged ${parts.length} shards: ${report.offered_rate_per_s} req/s offered for ${report.duration_s} s`);
      console.log(`requests: sent ${r.sent}, completed ${r.completed}, errors ${r.errors} (timeouts ${r.timeouts}), non-2xx ${r.non2xx}`);
      console.log(`latency from scheduled send (ms): p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`);
      console.log(`dispatch lag (worst shard, ms): p99 ${report.dispatch_lag_ms.p99}  max ${report.dispatch_lag_ms.max}${report.quality.clean ? '' : `; NOT CLEAN: ${report.quality.notes.join('; ')}`}`);
      for (const c of merged.checks ?? []) console.log(`${c.passed ? 'pass' : 'FAIL'}  ${c.id}: ${c.detail}`);
    }
    const checksHeld = (merged.checks ?? []).every((c) => c.passed);
    if (!checksHeld) console.error(`merge: ${(merged.checks ?? []).filter((c) => !c.passed).length} scenario check(s) failed in the shards`);
    if (!thresholds) return checksHeld ? 0 : CHECK_FAILED_EXIT;
    const outcomes = evaluateThresholds(loadFigures(merged), thresholds);
    console.error(formatThresholds(outcomes));
    if (!checksHeld) return CHECK_FAILED_EXIT;
    return thresholdsHold(outcomes) ? 0 : THRESHOLDS_FAILED_EXIT;
  } catch (err) {
    return exitCodeForCliError('merge', USAGE, err, [LoadResultFileError, ShardMergeError, ThresholdsError]);
  }
}

process.exitCode = main();
